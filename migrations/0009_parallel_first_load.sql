-- dirsync schema, version 9: the parallel first load's state, and what runs record about it and
-- about the pages Graph sent.

-- One row per tenant whose first sync ran (or runs) as a parallel load.
CREATE TABLE directory.first_loads (
    tenant_id        uuid PRIMARY KEY,
    -- Stamped on every row the load writes, as a full round stamps what it sees.
    round_id         bigint NOT NULL,
    phase            text NOT NULL CHECK (phase IN ('listing', 'verifying', 'completed', 'abandoned')),
    -- The "sync from now" deltaLinks taken before listing, by resource, and when.
    links            jsonb NOT NULL,
    links_taken_at   timestamptz NOT NULL,
    -- Listing starts no earlier than this (changes made before the links replicate meanwhile).
    wait_until       timestamptz NOT NULL,
    counted_users    integer NULL,
    counted_groups   integer NULL,
    -- Why the load was given up for the sequential first rounds.
    reason           text NULL,
    started_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Where each of a load's streams stands: a list partition, an id list, or a scoped groups delta
-- chain over a chunk of group ids. A stream is done when next_link is NULL.
CREATE TABLE directory.first_load_streams (
    tenant_id   uuid NOT NULL REFERENCES directory.first_loads (tenant_id) ON DELETE CASCADE,
    stream      text NOT NULL,
    next_link   text NULL,
    pages       integer NOT NULL DEFAULT 0,
    objects     integer NOT NULL DEFAULT 0,
    restarts    integer NOT NULL DEFAULT 0,
    group_ids   uuid[] NULL,
    PRIMARY KEY (tenant_id, stream)
);

-- The ids the id lists named (users: the completeness oracle; groups: the chunks' source).
CREATE TABLE directory.first_load_ids (
    tenant_id   uuid NOT NULL REFERENCES directory.first_loads (tenant_id) ON DELETE CASCADE,
    resource    text NOT NULL CHECK (resource IN ('users', 'groups')),
    id          uuid NOT NULL,
    PRIMARY KEY (tenant_id, resource, id)
);

-- Status shows a load's phases as progress.
ALTER TABLE directory.sync_progress DROP CONSTRAINT sync_progress_phase_check;
ALTER TABLE directory.sync_progress ADD CONSTRAINT sync_progress_phase_check
    CHECK (phase IN ('fetch', 'sweep', 'done', 'tokens', 'waiting', 'listing', 'verifying'));

-- What a run's parallel first load did ({outcome, requests, resource_units, throttled,
-- peak_in_flight, pages, restarts, seconds}), and the page sizes Graph sent per resource
-- ({resource: {pages, objects, largest}}).
ALTER TABLE directory.sync_runs ADD COLUMN first_load jsonb NULL, ADD COLUMN page_sizes jsonb NULL;

-- The objects and memberships a full round saw without rewriting them (their values had not
-- changed), for its sweep: only rows neither written by the round nor seen by it are deleted at its
-- end. A full round over a synced tenant then rewrites only what changed instead of re-stamping
-- every row. Unlogged (no write-ahead log): if PostgreSQL restarts, the table is emptied; the marker
-- row (id 00000000-0000-0000-0000-000000000000) each full round writes at its start then is gone
-- too, and the round starts over instead of sweeping on what it no longer knows.
CREATE UNLOGGED TABLE directory.round_seen (
    tenant_id  uuid NOT NULL,
    resource   text NOT NULL,
    round_id   bigint NOT NULL,
    id         uuid NOT NULL,
    PRIMARY KEY (tenant_id, resource, round_id, id)
);
CREATE UNLOGGED TABLE directory.round_seen_members (
    tenant_id  uuid NOT NULL,
    round_id   bigint NOT NULL,
    group_id   uuid NOT NULL,
    member_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, round_id, group_id, member_id)
);
