-- dirsync schema, version 7: keep the nesting closure cheaply.
--
-- Version 5 recomputed the ancestors of every group below a new nested edge, level by level. On a
-- large tenant's first sync, where every page of memberships brings a few nested edges, that redid
-- most of the closure for each page. Now:
-- - during a resource's first round (dirsync sets dirsync.feed to 'snapshot' for it; nothing can be
--   read consistently before that round completes anyway), groups and memberships are loaded without
--   touching the closure, and the transaction that completes the round builds the tenant's closure
--   at once (directory.rebuild_group_ancestors);
-- - afterwards, edges that appear (a nested membership added, a group created or restored while its
--   memberships exist) only add what they make reachable (directory.add_group_edges); edges that
--   disappear (a membership removed, a group deleted) still recompute the groups below them, which is
--   what a removal needs and happens rarely.

-- Whether this transaction loads a resource's first round (see migration 6: dirsync.feed).
CREATE FUNCTION directory.loading_first_round() RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT coalesce(current_setting('dirsync.feed', true), '') = 'snapshot'
$$;

-- Builds a tenant's whole closure from its nested memberships between live groups, breadth first:
-- level by level, a group's ancestors one step further up, each pair at the first (shortest) level
-- that reaches it. Cycles end because a pair already reached is not reached again.
CREATE FUNCTION directory.rebuild_group_ancestors(p_tenant uuid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
DECLARE
    level integer := 1;
    reached bigint;
BEGIN
    DELETE FROM directory.group_ancestors WHERE tenant_id = p_tenant;
    CREATE TEMP TABLE nesting_edges ON COMMIT DROP AS
        SELECT m.member_id AS child, m.group_id AS parent
        FROM directory.group_members m
        JOIN directory.groups c ON c.tenant_id = m.tenant_id AND c.id = m.member_id AND c.deleted_at IS NULL
        JOIN directory.groups p ON p.tenant_id = m.tenant_id AND p.id = m.group_id AND p.deleted_at IS NULL
        WHERE m.tenant_id = p_tenant AND m.member_type = 'group' AND m.member_id <> m.group_id;
    CREATE INDEX ON nesting_edges (child);
    ANALYZE nesting_edges;
    CREATE TEMP TABLE nesting_frontier ON COMMIT DROP AS SELECT DISTINCT child AS group_id, parent AS ancestor_id FROM nesting_edges;
    LOOP
        INSERT INTO directory.group_ancestors (tenant_id, group_id, ancestor_id, depth)
        SELECT p_tenant, f.group_id, f.ancestor_id, level FROM nesting_frontier f;
        ANALYZE nesting_frontier;
        CREATE TEMP TABLE nesting_next ON COMMIT DROP AS
            SELECT DISTINCT f.group_id, e.parent AS ancestor_id
            FROM nesting_frontier f JOIN nesting_edges e ON e.child = f.ancestor_id
            WHERE e.parent <> f.group_id
              AND NOT EXISTS (SELECT 1 FROM directory.group_ancestors a
                              WHERE a.tenant_id = p_tenant AND a.group_id = f.group_id AND a.ancestor_id = e.parent);
        GET DIAGNOSTICS reached = ROW_COUNT;
        DROP TABLE nesting_frontier;
        ALTER TABLE nesting_next RENAME TO nesting_frontier;
        EXIT WHEN reached = 0;
        level := level + 1;
    END LOOP;
    DROP TABLE nesting_frontier;
    DROP TABLE nesting_edges;
END
$$;

-- Adds the nesting that edges (child in parent) between live groups create: every group at or below
-- the child gains every group at or above the parent, at the length of the chain through the edge
-- when that is shorter than what it had. Repeats until nothing changes, so edges that chain into each
-- other within one call are followed. No group becomes its own ancestor (cycles end).
CREATE FUNCTION directory.add_group_edges(p_tenant uuid, p_children uuid[], p_parents uuid[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
DECLARE
    changed bigint;
BEGIN
    IF p_children IS NULL OR cardinality(p_children) = 0 THEN
        RETURN;
    END IF;
    LOOP
        INSERT INTO directory.group_ancestors AS ga (tenant_id, group_id, ancestor_id, depth)
        SELECT p_tenant, x.id, y.id, min(x.depth + 1 + y.depth)
        FROM (
            SELECT DISTINCT e.child, e.parent
            FROM unnest(p_children, p_parents) AS e (child, parent)
            JOIN directory.groups c ON c.tenant_id = p_tenant AND c.id = e.child AND c.deleted_at IS NULL
            JOIN directory.groups p ON p.tenant_id = p_tenant AND p.id = e.parent AND p.deleted_at IS NULL
            WHERE e.child <> e.parent
        ) AS e
        CROSS JOIN LATERAL (
            SELECT e.child AS id, 0 AS depth
            UNION ALL
            SELECT a.group_id, a.depth FROM directory.group_ancestors a WHERE a.tenant_id = p_tenant AND a.ancestor_id = e.child
        ) AS x
        CROSS JOIN LATERAL (
            SELECT e.parent AS id, 0 AS depth
            UNION ALL
            SELECT a.ancestor_id, a.depth FROM directory.group_ancestors a WHERE a.tenant_id = p_tenant AND a.group_id = e.parent
        ) AS y
        WHERE x.id <> y.id
        GROUP BY x.id, y.id
        ON CONFLICT (tenant_id, group_id, ancestor_id) DO UPDATE SET depth = EXCLUDED.depth WHERE EXCLUDED.depth < ga.depth;
        GET DIAGNOSTICS changed = ROW_COUNT;
        EXIT WHEN changed = 0;
    END LOOP;
END
$$;

-- The nested edges of groups that just became live (created, or restored): as child and as parent.
CREATE FUNCTION directory.add_group_edges_of(p_tenant uuid, p_groups uuid[]) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, directory AS $$
    SELECT directory.add_group_edges(p_tenant, array_agg(e.member_id), array_agg(e.group_id))
    FROM (
        SELECT m.member_id, m.group_id FROM directory.group_members m
        WHERE m.tenant_id = p_tenant AND m.member_type = 'group' AND m.member_id = ANY (p_groups)
        UNION
        SELECT m.member_id, m.group_id FROM directory.group_members m
        WHERE m.tenant_id = p_tenant AND m.member_type = 'group' AND m.group_id = ANY (p_groups)
    ) AS e
$$;

CREATE OR REPLACE FUNCTION directory.groups_read_model() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
DECLARE
    t record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
        SELECT n.tenant_id, e.address, n.id, 'group', e.source
        FROM new_rows n, directory.email_addresses(n.mail, NULL, n.proxy_addresses, NULL) e
        WHERE n.deleted_at IS NULL
        ON CONFLICT DO NOTHING;
        -- A group listed as a member (or with members) before its own row arrived: its nesting starts
        -- now (during a first round, when the round completes).
        FOR t IN SELECT n.tenant_id, array_agg(n.id) AS ids FROM new_rows n
                 WHERE n.deleted_at IS NULL AND NOT directory.loading_first_round() GROUP BY n.tenant_id LOOP
            PERFORM directory.add_group_edges_of(t.tenant_id, t.ids);
        END LOOP;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM directory.addresses a USING new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
        WHERE a.tenant_id = n.tenant_id AND a.object_id = n.id
          AND (n.mail, n.proxy_addresses, n.deleted_at IS NULL) IS DISTINCT FROM (o.mail, o.proxy_addresses, o.deleted_at IS NULL);
        INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
        SELECT n.tenant_id, e.address, n.id, 'group', e.source
        FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id,
             directory.email_addresses(n.mail, NULL, n.proxy_addresses, NULL) e
        WHERE n.deleted_at IS NULL
          AND (n.mail, n.proxy_addresses, n.deleted_at IS NULL) IS DISTINCT FROM (o.mail, o.proxy_addresses, o.deleted_at IS NULL)
        ON CONFLICT DO NOTHING;
        -- Deleted groups take their nesting with them; restored ones bring theirs back (during a first
        -- round, the closure is built when it completes).
        IF NOT directory.loading_first_round() THEN
            FOR t IN SELECT n.tenant_id, array_agg(n.id) AS ids FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
                     WHERE n.deleted_at IS NOT NULL AND o.deleted_at IS NULL GROUP BY n.tenant_id LOOP
                PERFORM directory.refresh_group_ancestors(t.tenant_id, t.ids);
            END LOOP;
            FOR t IN SELECT n.tenant_id, array_agg(n.id) AS ids FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
                     WHERE n.deleted_at IS NULL AND o.deleted_at IS NOT NULL GROUP BY n.tenant_id LOOP
                PERFORM directory.add_group_edges_of(t.tenant_id, t.ids);
            END LOOP;
        END IF;
    ELSE
        DELETE FROM directory.addresses a USING old_rows o WHERE a.tenant_id = o.tenant_id AND a.object_id = o.id;
        DELETE FROM directory.group_ancestors a USING old_rows o WHERE a.tenant_id = o.tenant_id AND (a.group_id = o.id OR a.ancestor_id = o.id);
        FOR t IN SELECT o.tenant_id, array_agg(o.id) AS ids FROM old_rows o GROUP BY o.tenant_id LOOP
            PERFORM directory.refresh_group_ancestors(t.tenant_id, t.ids);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION directory.group_members_read_model() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
DECLARE
    t record;
BEGIN
    IF directory.loading_first_round() THEN
        RETURN NULL;  -- the round's last transaction builds the closure
    ELSIF TG_OP = 'INSERT' THEN
        FOR t IN SELECT n.tenant_id, array_agg(n.member_id) AS children, array_agg(n.group_id) AS parents FROM new_rows n
                 WHERE n.member_type = 'group' GROUP BY n.tenant_id LOOP
            PERFORM directory.add_group_edges(t.tenant_id, t.children, t.parents);
        END LOOP;
    ELSIF TG_OP = 'UPDATE' THEN
        -- A member whose type became group is a new edge; one that stopped being a group removes one.
        FOR t IN SELECT n.tenant_id, array_agg(n.member_id) AS children, array_agg(n.group_id) AS parents
                 FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.group_id = n.group_id AND o.member_id = n.member_id
                 WHERE n.member_type = 'group' AND o.member_type <> 'group' GROUP BY n.tenant_id LOOP
            PERFORM directory.add_group_edges(t.tenant_id, t.children, t.parents);
        END LOOP;
        FOR t IN SELECT n.tenant_id, array_agg(DISTINCT n.member_id) AS ids
                 FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.group_id = n.group_id AND o.member_id = n.member_id
                 WHERE n.member_type <> 'group' AND o.member_type = 'group' GROUP BY n.tenant_id LOOP
            PERFORM directory.refresh_group_ancestors(t.tenant_id, t.ids);
        END LOOP;
    ELSE
        FOR t IN SELECT o.tenant_id, array_agg(DISTINCT o.member_id) AS ids FROM old_rows o
                 WHERE o.member_type = 'group' GROUP BY o.tenant_id LOOP
            PERFORM directory.refresh_group_ancestors(t.tenant_id, t.ids);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION directory.add_group_edges(uuid, uuid[], uuid[]), directory.add_group_edges_of(uuid, uuid[]),
    directory.rebuild_group_ancestors(uuid), directory.loading_first_round() FROM PUBLIC;
