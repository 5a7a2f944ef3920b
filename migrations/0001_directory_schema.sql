-- dirsync schema, version 1.
--
-- Part 1 is the read contract for downstream services: directory.domains, users, groups and
-- group_members. Columns are only ever added, never renamed or retyped; migrations only go forward.
-- Part 2 holds the worker's own bookkeeping (cursors, run history, live progress); downstream
-- services may read it but must not depend on its shape.
--
-- directory.schema_migrations is created by `dirsync migrate` itself before this file runs.

CREATE SCHEMA IF NOT EXISTS directory;

-- ---------------------------------------------------------------------------------------------
-- Part 1: read contract
-- ---------------------------------------------------------------------------------------------

-- Domains a customer has onboarded. Several domains may share one Entra tenant.
CREATE TABLE directory.domains (
    domain          text PRIMARY KEY CHECK (domain = lower(domain) AND domain <> ''),
    tenant_id       uuid NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    onboarded_at    timestamptz NOT NULL DEFAULT now(),
    -- The app registration (client id) used for this domain's tenant; NULL means the configured default.
    client_id       uuid NULL,
    -- When the domain was last confirmed as a verified domain of its tenant (GET /domains/{name}).
    verified_at     timestamptz NULL,
    disabled_at     timestamptz NULL,
    -- Per-domain override of the deletion guard's limit (objects per run); NULL means the default rule.
    deletion_limit  integer NULL CHECK (deletion_limit IS NULL OR deletion_limit >= 0),
    -- A plain-language problem specific to this domain (for example "not verified in its tenant").
    problem         text NULL,
    problem_at      timestamptz NULL
);
CREATE INDEX domains_tenant_id_idx ON directory.domains (tenant_id);

-- Users, one row per (tenant, object id). Deleted users are kept with deleted_at set.
CREATE TABLE directory.users (
    tenant_id            uuid NOT NULL,
    id                   uuid NOT NULL,
    user_principal_name  text NULL,
    display_name         text NULL,
    given_name           text NULL,
    surname              text NULL,
    mail                 text NULL,
    job_title            text NULL,
    department           text NULL,
    account_enabled      boolean NULL,
    user_type            text NULL,
    proxy_addresses      text[] NULL,
    deleted_at           timestamptz NULL,
    deleted_reason       text NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX users_upn_lower_idx ON directory.users (lower(user_principal_name));
CREATE INDEX users_mail_lower_idx ON directory.users (lower(mail));
CREATE INDEX users_proxy_addresses_idx ON directory.users USING gin (proxy_addresses);

-- Groups, one row per (tenant, object id). Deleted groups are kept with deleted_at set.
CREATE TABLE directory.groups (
    tenant_id         uuid NOT NULL,
    id                uuid NOT NULL,
    display_name      text NULL,
    description       text NULL,
    mail              text NULL,
    mail_nickname     text NULL,
    mail_enabled      boolean NULL,
    security_enabled  boolean NULL,
    group_types       text[] NULL,
    deleted_at        timestamptz NULL,
    deleted_reason    text NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX groups_mail_lower_idx ON directory.groups (lower(mail));

-- Current direct memberships. A member may be of any directory object type; member_id is not a
-- foreign key because members of other kinds (devices, service principals, contacts) are not stored.
CREATE TABLE directory.group_members (
    tenant_id    uuid NOT NULL,
    group_id     uuid NOT NULL,
    member_id    uuid NOT NULL,
    member_type  text NOT NULL CHECK (member_type IN ('user', 'group', 'device', 'servicePrincipal', 'orgContact')),
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, group_id, member_id)
);
CREATE INDEX group_members_member_id_idx ON directory.group_members (member_id);

-- ---------------------------------------------------------------------------------------------
-- Part 2: worker bookkeeping
-- ---------------------------------------------------------------------------------------------

-- Where each tenant's users and groups delta rounds stand.
CREATE TABLE directory.sync_cursors (
    tenant_id         uuid NOT NULL,
    resource          text NOT NULL CHECK (resource IN ('users', 'groups')),
    -- deltaLink of the last completed round: where the next incremental round starts.
    delta_link        text NULL,
    -- When that deltaLink was received (Graph expires delta state after about 7 days).
    delta_link_at     timestamptz NULL,
    -- The round in progress, if any: its kind, its resume point (the nextLink of its last committed
    -- page) and how far it has got.
    round_mode        text NULL CHECK (round_mode IN ('full', 'incremental')),
    next_link         text NULL,
    round_started_at  timestamptz NULL,
    round_pages       integer NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, resource)
);

-- One row per tenant per `dirsync run`.
CREATE TABLE directory.sync_runs (
    run_id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id            uuid NOT NULL,
    started_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz NULL,
    mode                 text NOT NULL CHECK (mode IN ('full', 'incremental', 'resync')),
    state                text NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'halted', 'interrupted')),
    dry_run              boolean NOT NULL DEFAULT false,
    pages                integer NOT NULL DEFAULT 0,
    requests             integer NOT NULL DEFAULT 0,
    objects_upserted     integer NOT NULL DEFAULT 0,
    objects_deleted      integer NOT NULL DEFAULT 0,
    memberships_added    integer NOT NULL DEFAULT 0,
    memberships_removed  integer NOT NULL DEFAULT 0,
    throttled            integer NOT NULL DEFAULT 0,
    -- SyncFailure class (resync_required, unauthorized, consent_missing, throttled, transport, database,
    -- interrupted, halted, ...) and its plain-language message; never a secret.
    error_class          text NULL,
    error_message        text NULL,
    -- Which process ran it, so a crashed run can be recognised and marked interrupted.
    host                 text NULL,
    pid                  integer NULL
);
CREATE INDEX sync_runs_tenant_started_idx ON directory.sync_runs (tenant_id, started_at DESC);

-- Live progress of the round in progress per tenant and resource, updated with every page.
CREATE TABLE directory.sync_progress (
    tenant_id       uuid NOT NULL,
    resource        text NOT NULL CHECK (resource IN ('users', 'groups')),
    run_id          bigint NOT NULL REFERENCES directory.sync_runs (run_id) ON DELETE CASCADE,
    phase           text NOT NULL CHECK (phase IN ('fetch', 'sweep', 'done')),
    pages           integer NOT NULL DEFAULT 0,
    objects         integer NOT NULL DEFAULT 0,
    -- Objects a full round expects (from /users/$count or /groups/$count); NULL when unknown.
    expected_total  integer NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, resource)
);
