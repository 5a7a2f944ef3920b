-- Every dirsync command first checks that the database's schema fits the binary. A service that runs
-- `dirsync changes` or `dirsync resolve` with a directory_reader login may not read the bookkeeping
-- table schema_migrations; this function shows it the versions and checksums, nothing else.

CREATE FUNCTION directory.applied_migrations() RETURNS TABLE (version integer, name text, checksum text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, directory AS $$
    SELECT m.version, m.name, m.checksum FROM directory.schema_migrations m ORDER BY m.version
$$;

REVOKE ALL ON FUNCTION directory.applied_migrations() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION directory.applied_migrations() TO directory_reader;
