-- dirsync schema, version 2: state the sync engine needs for exact, resumable, guarded rounds.
--
-- sync_round (internal): the full round that last saw a row. At the end of a full round every live
-- row not stamped with that round's id was not in the tenant any more and is swept. Downstream
-- services should ignore this column.
ALTER TABLE directory.users ADD COLUMN sync_round bigint NULL;
ALTER TABLE directory.groups ADD COLUMN sync_round bigint NULL;
ALTER TABLE directory.group_members ADD COLUMN sync_round bigint NULL;

-- round_id: identifies the full round in progress (the run_id of the run that started it), so a
-- round resumed by a later run keeps stamping the same id.
-- pending_delta_link: the deltaLink of a round whose deletions the deletion guard halted; it
-- replaces delta_link once an operator allows the deletions (dirsync run --allow-deletes).
ALTER TABLE directory.sync_cursors
    ADD COLUMN round_id bigint NULL,
    ADD COLUMN pending_delta_link text NULL;

-- Deletions reported (or swept) during a round, applied only when the round completes and the
-- deletion guard allows them; a halted round keeps them here for review.
CREATE TABLE directory.pending_deletions (
    tenant_id    uuid NOT NULL,
    resource     text NOT NULL CHECK (resource IN ('users', 'groups')),
    id           uuid NOT NULL,
    reason       text NOT NULL CHECK (reason IN ('soft_deleted', 'hard_deleted', 'not_in_full_sync')),
    reported_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, resource, id)
);

-- A halted or failed tenant's latest numbers for status: kept on the run row.
ALTER TABLE directory.sync_runs
    ADD COLUMN deletions_pending integer NULL,
    ADD COLUMN deletion_limit integer NULL;

-- Runs by state, for status and for recognising crashed runs.
CREATE INDEX sync_runs_state_idx ON directory.sync_runs (tenant_id, state) WHERE state = 'running';
