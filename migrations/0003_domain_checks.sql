-- dirsync schema, version 3: the latest onboarding preflight (dirsync domains check) per domain.
--
-- The worker's bookkeeping, not the read contract: dirsync status shows a failed check ("awaiting
-- consent", "permission missing: …", "domain not verified") for a domain before its first sync, and
-- after the last run when the check is newer. Removing a domain with --purge removes its check.
CREATE TABLE directory.domain_checks (
    domain               text PRIMARY KEY REFERENCES directory.domains (domain) ON DELETE CASCADE,
    tenant_id            uuid NOT NULL,
    checked_at           timestamptz NOT NULL DEFAULT now(),
    ok                   boolean NOT NULL,
    consent_missing      boolean NOT NULL DEFAULT false,
    missing_permissions  text[] NOT NULL DEFAULT '{}',
    -- NULL when the check could not tell (no token, no Directory.Read.All).
    domain_verified      boolean NULL,
    -- One line with the fix for status; NULL when every check passed.
    message              text NULL
);
