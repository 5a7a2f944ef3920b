-- dirsync schema, version 6: the change feed.
--
-- directory.changes holds one event per real change of the read contract (an object created,
-- updated, deleted or restored; a membership added or removed), written in the same transaction as
-- the rows it describes. Triggers capture the events of each statement into a per-transaction
-- queue; just before the transaction commits, a deferred trigger numbers them under one advisory
-- lock, moves them into directory.changes and sends NOTIFY directory_changes with each tenant id.
-- The lock is held until the commit has completed, so events are numbered in commit order: a reader
-- never sees an event while one with a smaller seq may still commit, and a consumer that stores the
-- last seq it processed and asks for what follows never misses and never repeats an event.

CREATE SEQUENCE directory.changes_seq AS bigint;

CREATE TABLE directory.changes (
    -- The event's position: unique, increasing in commit order (gaps are possible).
    seq           bigint PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    -- The dirsync run that wrote it (NULL for writes outside a run).
    run_id        bigint NULL,
    committed_at  timestamptz NOT NULL,
    entity        text NOT NULL CHECK (entity IN ('user', 'group', 'contact', 'membership')),
    op            text NOT NULL CHECK (op IN ('created', 'updated', 'deleted', 'restored', 'added', 'removed', 'snapshot')),
    -- The object; for a membership the member; NULL for a snapshot.
    object_id     uuid NULL,
    -- Memberships only.
    group_id      uuid NULL,
    member_type   text NULL,
    -- created/updated/restored: the contract columns whose value changed, with the new values;
    -- deleted: {"deleted_reason": …}; otherwise {}.
    changes       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX changes_committed_at_idx ON directory.changes (committed_at);

-- How far the feed was pruned: a cursor below this has lost events and must start over.
CREATE TABLE directory.change_feed_state (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_through  bigint NOT NULL DEFAULT 0
);
INSERT INTO directory.change_feed_state DEFAULT VALUES;

-- The events of transactions in progress (internal). Unlogged: a crash loses only uncommitted work.
CREATE SEQUENCE directory.pending_changes_ordinal AS bigint;
CREATE UNLOGGED TABLE directory.pending_changes (
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    ordinal      bigint NOT NULL DEFAULT nextval('directory.pending_changes_ordinal'),
    tenant_id    uuid NOT NULL,
    run_id       bigint NULL,
    entity       text NOT NULL,
    op           text NOT NULL,
    object_id    uuid NULL,
    group_id     uuid NULL,
    member_type  text NULL,
    changes      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX pending_changes_txid_idx ON directory.pending_changes (txid, ordinal);
-- One row per transaction that queued events: its insert schedules the publication at commit.
CREATE UNLOGGED TABLE directory.pending_publications (txid xid8 PRIMARY KEY);

-- The run that writes (set per transaction by dirsync: SET LOCAL dirsync.run_id), or NULL.
CREATE FUNCTION directory.feed_run_id() RETURNS bigint LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT nullif(current_setting('dirsync.run_id', true), '')::bigint
$$;

-- Whether statements of this transaction emit per-row events. A tenant's first full round of a
-- resource sets dirsync.feed to 'snapshot': it emits one snapshot event per entity when it
-- completes instead of one 'created' per row.
CREATE FUNCTION directory.feed_emits_rows() RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT coalesce(current_setting('dirsync.feed', true), '') <> 'snapshot'
$$;

-- Queues a snapshot event: consumers re-read the tenant's rows of that entity.
CREATE FUNCTION directory.queue_snapshot(p_tenant uuid, p_entity text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, directory AS $$
    INSERT INTO directory.pending_changes (tenant_id, run_id, entity, op) VALUES (p_tenant, directory.feed_run_id(), p_entity, 'snapshot');
    INSERT INTO directory.pending_publications VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
$$;

-- Events of users, groups and contacts. TG_ARGV[0] names the entity.
CREATE FUNCTION directory.objects_change_feed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
DECLARE
    entity text := TG_ARGV[0];
    run bigint := directory.feed_run_id();
    queued bigint;
BEGIN
    IF NOT directory.feed_emits_rows() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO directory.pending_changes (tenant_id, run_id, entity, op, object_id, changes)
        SELECT n.tenant_id, run, entity,
               CASE WHEN n.deleted_at IS NULL THEN 'created' ELSE 'deleted' END, n.id,
               CASE WHEN n.deleted_at IS NULL
                    THEN (SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}')
                          FROM jsonb_each(to_jsonb(n) - ARRAY['tenant_id', 'id', 'deleted_at', 'deleted_reason', 'updated_at', 'sync_round']) e
                          WHERE e.value <> 'null'::jsonb)
                    ELSE jsonb_build_object('deleted_reason', n.deleted_reason) END
        FROM new_rows n;
    ELSE
        INSERT INTO directory.pending_changes (tenant_id, run_id, entity, op, object_id, changes)
        SELECT c.tenant_id, run, entity, c.op, c.id, c.changes
        FROM (
            SELECT n.tenant_id, n.id,
                   CASE WHEN n.deleted_at IS NOT NULL THEN 'deleted' WHEN o.deleted_at IS NOT NULL THEN 'restored' ELSE 'updated' END AS op,
                   CASE WHEN n.deleted_at IS NOT NULL THEN jsonb_build_object('deleted_reason', n.deleted_reason)
                        ELSE (SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}')
                              FROM jsonb_each(to_jsonb(n) - ARRAY['tenant_id', 'id', 'deleted_at', 'deleted_reason', 'updated_at', 'sync_round']) e
                              WHERE e.value IS DISTINCT FROM (to_jsonb(o) -> e.key)) END AS changes,
                   (n.deleted_at IS NULL) <> (o.deleted_at IS NULL)
                       OR (n.deleted_at IS NOT NULL AND n.deleted_reason IS DISTINCT FROM o.deleted_reason) AS lifecycle
            FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
            -- A full round re-stamps every row it sees; rows whose values did not change keep their
            -- updated_at, so only rows touched for real (or earlier in this transaction) are compared.
            WHERE n.updated_at IS DISTINCT FROM o.updated_at OR o.updated_at = transaction_timestamp()
               OR n.deleted_at IS DISTINCT FROM o.deleted_at OR n.deleted_reason IS DISTINCT FROM o.deleted_reason
        ) AS c
        WHERE c.lifecycle OR (c.op = 'updated' AND c.changes <> '{}'::jsonb);
    END IF;
    GET DIAGNOSTICS queued = ROW_COUNT;
    IF queued > 0 THEN
        INSERT INTO directory.pending_publications VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

-- Events of memberships: added (also when a member's type changes) and removed.
CREATE FUNCTION directory.memberships_change_feed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
DECLARE
    run bigint := directory.feed_run_id();
    queued bigint;
BEGIN
    IF NOT directory.feed_emits_rows() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO directory.pending_changes (tenant_id, run_id, entity, op, object_id, group_id, member_type)
        SELECT n.tenant_id, run, 'membership', 'added', n.member_id, n.group_id, n.member_type FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO directory.pending_changes (tenant_id, run_id, entity, op, object_id, group_id, member_type)
        SELECT n.tenant_id, run, 'membership', 'added', n.member_id, n.group_id, n.member_type
        FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.group_id = n.group_id AND o.member_id = n.member_id
        WHERE n.member_type IS DISTINCT FROM o.member_type;
    ELSE
        INSERT INTO directory.pending_changes (tenant_id, run_id, entity, op, object_id, group_id, member_type)
        SELECT o.tenant_id, run, 'membership', 'removed', o.member_id, o.group_id, o.member_type FROM old_rows o;
    END IF;
    GET DIAGNOSTICS queued = ROW_COUNT;
    IF queued > 0 THEN
        INSERT INTO directory.pending_publications VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

-- Runs once per transaction that queued events, just before it commits: numbers the events in
-- commit order (under the feed's advisory lock, held until the commit completes), moves them into
-- directory.changes, and wakes listeners.
CREATE FUNCTION directory.publish_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
DECLARE
    committed timestamptz;
BEGIN
    -- The two-key form does not meet single-key advisory locks (the tenant and migration locks).
    PERFORM pg_advisory_xact_lock(1684632179, 1);  -- 'dirs', the change feed
    committed := clock_timestamp();
    INSERT INTO directory.changes (seq, tenant_id, run_id, committed_at, entity, op, object_id, group_id, member_type, changes)
    SELECT nextval('directory.changes_seq'), p.tenant_id, p.run_id, committed, p.entity, p.op, p.object_id, p.group_id, p.member_type, p.changes
    FROM (SELECT * FROM directory.pending_changes WHERE txid = NEW.txid ORDER BY ordinal) AS p;
    PERFORM pg_notify('directory_changes', t.tenant_id::text)
    FROM (SELECT DISTINCT tenant_id FROM directory.pending_changes WHERE txid = NEW.txid) AS t;
    DELETE FROM directory.pending_changes WHERE txid = NEW.txid;
    DELETE FROM directory.pending_publications WHERE txid = NEW.txid;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER publish_changes AFTER INSERT ON directory.pending_publications
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION directory.publish_changes();

CREATE TRIGGER users_change_feed_insert AFTER INSERT ON directory.users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.objects_change_feed('user');
CREATE TRIGGER users_change_feed_update AFTER UPDATE ON directory.users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.objects_change_feed('user');
CREATE TRIGGER groups_change_feed_insert AFTER INSERT ON directory.groups REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.objects_change_feed('group');
CREATE TRIGGER groups_change_feed_update AFTER UPDATE ON directory.groups REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.objects_change_feed('group');
CREATE TRIGGER contacts_change_feed_insert AFTER INSERT ON directory.contacts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.objects_change_feed('contact');
CREATE TRIGGER contacts_change_feed_update AFTER UPDATE ON directory.contacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.objects_change_feed('contact');
CREATE TRIGGER group_members_change_feed_insert AFTER INSERT ON directory.group_members REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.memberships_change_feed();
CREATE TRIGGER group_members_change_feed_update AFTER UPDATE ON directory.group_members REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.memberships_change_feed();
CREATE TRIGGER group_members_change_feed_delete AFTER DELETE ON directory.group_members REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.memberships_change_feed();

-- ---------------------------------------------------------------------------------------------
-- Reading the feed
-- ---------------------------------------------------------------------------------------------

-- The events after p_cursor, in seq order, at most p_limit. A cursor older than the oldest kept
-- event (the feed was pruned past it) raises SQLSTATE DSC01: the consumer must re-read the tables
-- and continue from directory.changes_cursor().
CREATE FUNCTION directory.changes_since(p_cursor bigint, p_limit integer DEFAULT 1000) RETURNS SETOF directory.changes
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, directory AS $$
DECLARE
    pruned bigint;
BEGIN
    SELECT s.pruned_through INTO pruned FROM directory.change_feed_state s;
    IF p_cursor < pruned THEN
        RAISE EXCEPTION 'change feed cursor % has expired: events up to % were pruned', p_cursor, pruned
            USING ERRCODE = 'DSC01',
                  HINT = 'the consumer must re-read the directory tables, then continue from directory.changes_cursor()';
    END IF;
    RETURN QUERY SELECT c.* FROM directory.changes c WHERE c.seq > p_cursor ORDER BY c.seq LIMIT greatest(p_limit, 0);
END
$$;

-- The seq of the newest committed event (or where pruning left the feed): a consumer that copies
-- the tables in the same snapshot continues from here.
CREATE FUNCTION directory.changes_cursor() RETURNS bigint
LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, directory AS $$
    SELECT greatest(coalesce((SELECT max(seq) FROM directory.changes), 0), (SELECT pruned_through FROM directory.change_feed_state))
$$;

REVOKE ALL ON FUNCTION directory.changes_since(bigint, integer), directory.changes_cursor(), directory.queue_snapshot(uuid, text),
    directory.feed_run_id(), directory.feed_emits_rows() FROM PUBLIC;
GRANT SELECT ON directory.changes, directory.change_feed_state TO directory_reader;
GRANT EXECUTE ON FUNCTION directory.changes_since(bigint, integer), directory.changes_cursor() TO directory_reader;
