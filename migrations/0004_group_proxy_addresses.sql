-- dirsync schema, version 4: groups' proxy addresses (the SMTP addresses of mail-enabled groups and
-- Microsoft 365 groups), as Graph's proxyAddresses: 'SMTP:' marks the primary address, 'smtp:' an alias.
ALTER TABLE directory.groups ADD COLUMN proxy_addresses text[] NULL;
