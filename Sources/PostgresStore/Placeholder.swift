// Placeholder until the PostgresStore adapter lands.
