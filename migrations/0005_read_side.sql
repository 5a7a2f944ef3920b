-- dirsync schema, version 5: the read side.
--
-- Org contacts are synced as a third object type. Each run stores the tenant's domains. Two read
-- models are derived from the synced rows and kept in step with them by triggers, in the same
-- statement as the change that affects them, whoever writes (a page, a sweep, a deletion, a purge):
--   directory.addresses        every email address of every live user, group and contact;
--   directory.group_ancestors  for each live group, every live group above it (nesting closure).
-- On them stand the read API's functions: resolve, member_of, transitive_members; and a NOLOGIN
-- role, directory_reader, that may read the contract and run the functions, and nothing else.

-- ---------------------------------------------------------------------------------------------
-- Org contacts (read contract)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE directory.contacts (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL,
    display_name     text NULL,
    given_name       text NULL,
    surname          text NULL,
    mail             text NULL,
    mail_nickname    text NULL,
    proxy_addresses  text[] NULL,
    company_name     text NULL,
    job_title        text NULL,
    department       text NULL,
    deleted_at       timestamptz NULL,
    deleted_reason   text NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- The full round that last saw the row (internal, as on users and groups).
    sync_round       bigint NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX contacts_mail_lower_idx ON directory.contacts (lower(mail));

ALTER TABLE directory.sync_cursors DROP CONSTRAINT sync_cursors_resource_check,
    ADD CONSTRAINT sync_cursors_resource_check CHECK (resource IN ('users', 'groups', 'contacts'));
ALTER TABLE directory.sync_progress DROP CONSTRAINT sync_progress_resource_check,
    ADD CONSTRAINT sync_progress_resource_check CHECK (resource IN ('users', 'groups', 'contacts'));
ALTER TABLE directory.pending_deletions DROP CONSTRAINT pending_deletions_resource_check,
    ADD CONSTRAINT pending_deletions_resource_check CHECK (resource IN ('users', 'groups', 'contacts'));

-- ---------------------------------------------------------------------------------------------
-- The tenant's domains (read contract), as GET /domains listed them at the last run
-- ---------------------------------------------------------------------------------------------

CREATE TABLE directory.tenant_domains (
    tenant_id           uuid NOT NULL,
    domain              text NOT NULL CHECK (domain = lower(domain) AND domain <> ''),
    is_verified         boolean NOT NULL,
    is_default          boolean NOT NULL,
    -- Graph's supportedServices, e.g. {Email, OfficeCommunicationsOnline}.
    supported_services  text[] NOT NULL DEFAULT '{}',
    seen_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, domain)
);

-- ---------------------------------------------------------------------------------------------
-- Email addresses (read contract, derived)
-- ---------------------------------------------------------------------------------------------

-- One row per email address per live object. The address is lower-cased without its smtp: prefix.
-- An address an object carries several ways is stored once, with the strongest source:
-- proxy_primary ('SMTP:'), then mail, upn, proxy_alias ('smtp:'), other_mail. Only SMTP proxy
-- addresses are email addresses (SIP:, X500:, spo: … are not).
CREATE TABLE directory.addresses (
    tenant_id    uuid NOT NULL,
    address      text NOT NULL,
    object_id    uuid NOT NULL,
    object_type  text NOT NULL CHECK (object_type IN ('user', 'group', 'contact')),
    source       text NOT NULL CHECK (source IN ('mail', 'upn', 'proxy_primary', 'proxy_alias', 'other_mail')),
    PRIMARY KEY (tenant_id, object_id, address)
);
CREATE INDEX addresses_address_idx ON directory.addresses (address);

-- The email addresses an object's columns carry (internal; inlined into the statements below).
CREATE FUNCTION directory.email_addresses(p_mail text, p_upn text, p_proxies text[], p_other text[])
RETURNS TABLE (address text, source text) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT ON (a.address) a.address, a.source
    FROM (
        SELECT lower(substr(p, 6)) AS address,
               CASE WHEN p LIKE 'SMTP:%' THEN 'proxy_primary' ELSE 'proxy_alias' END AS source,
               CASE WHEN p LIKE 'SMTP:%' THEN 1 ELSE 4 END AS rank
        FROM unnest(p_proxies) AS p WHERE p ILIKE 'smtp:%'
        UNION ALL SELECT lower(p_mail), 'mail', 2 WHERE p_mail IS NOT NULL
        UNION ALL SELECT lower(p_upn), 'upn', 3 WHERE p_upn IS NOT NULL
        UNION ALL SELECT lower(o), 'other_mail', 5 FROM unnest(p_other) AS o WHERE o IS NOT NULL
    ) AS a
    WHERE a.address <> ''
    ORDER BY a.address, a.rank
$$;

-- ---------------------------------------------------------------------------------------------
-- Group nesting closure (read contract, derived)
-- ---------------------------------------------------------------------------------------------

-- For each live group, every live group that contains it through nesting, with the length of the
-- shortest chain (1: a direct parent). Cycles (A in B in C in A) are cut: no group is its own
-- ancestor. Only groups nest here; members of other types are joined with it at query time.
CREATE TABLE directory.group_ancestors (
    tenant_id    uuid NOT NULL,
    group_id     uuid NOT NULL,
    ancestor_id  uuid NOT NULL,
    depth        integer NOT NULL CHECK (depth >= 1),
    PRIMARY KEY (tenant_id, group_id, ancestor_id)
);
CREATE INDEX group_ancestors_ancestor_idx ON directory.group_ancestors (tenant_id, ancestor_id);
-- Nested groups by member, for walking the nesting.
CREATE INDEX group_members_nested_idx ON directory.group_members (tenant_id, member_id) WHERE member_type = 'group';
CREATE INDEX group_members_nested_parent_idx ON directory.group_members (tenant_id, group_id) WHERE member_type = 'group';

-- Recomputes the ancestors of p_seeds and of every group nested below them (internal). Level by
-- level from each group upwards over live parents: the first level that reaches an ancestor gives
-- its depth, and an ancestor already reached is not expanded again, so cycles end.
CREATE FUNCTION directory.refresh_group_ancestors(p_tenant uuid, p_seeds uuid[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
DECLARE
    affected uuid[];
    level integer := 1;
    added bigint;
BEGIN
    IF p_seeds IS NULL OR cardinality(p_seeds) = 0 THEN
        RETURN;
    END IF;
    -- Everything below the seeds through nesting, whether live or not (UNION visits each group once).
    WITH RECURSIVE below (id) AS (
        SELECT DISTINCT s FROM unnest(p_seeds) AS s
        UNION
        SELECT m.member_id FROM below b
        JOIN directory.group_members m ON m.tenant_id = p_tenant AND m.group_id = b.id AND m.member_type = 'group'
    )
    SELECT array_agg(id) INTO affected FROM below;

    DELETE FROM directory.group_ancestors a USING unnest(affected) AS g (id)
    WHERE a.tenant_id = p_tenant AND a.group_id = g.id;

    INSERT INTO directory.group_ancestors (tenant_id, group_id, ancestor_id, depth)
    SELECT DISTINCT p_tenant, m.member_id, m.group_id, 1
    FROM unnest(affected) AS g (id)
    JOIN directory.groups child ON child.tenant_id = p_tenant AND child.id = g.id AND child.deleted_at IS NULL
    JOIN directory.group_members m ON m.tenant_id = p_tenant AND m.member_id = g.id AND m.member_type = 'group'
    JOIN directory.groups parent ON parent.tenant_id = p_tenant AND parent.id = m.group_id AND parent.deleted_at IS NULL
    WHERE m.group_id <> m.member_id;

    LOOP
        INSERT INTO directory.group_ancestors (tenant_id, group_id, ancestor_id, depth)
        SELECT DISTINCT p_tenant, a.group_id, m.group_id, level + 1
        FROM unnest(affected) AS g (id)
        JOIN directory.group_ancestors a ON a.tenant_id = p_tenant AND a.group_id = g.id AND a.depth = level
        JOIN directory.group_members m ON m.tenant_id = p_tenant AND m.member_id = a.ancestor_id AND m.member_type = 'group'
        JOIN directory.groups parent ON parent.tenant_id = p_tenant AND parent.id = m.group_id AND parent.deleted_at IS NULL
        WHERE m.group_id <> a.group_id
        ON CONFLICT (tenant_id, group_id, ancestor_id) DO NOTHING;
        GET DIAGNOSTICS added = ROW_COUNT;
        EXIT WHEN added = 0;
        level := level + 1;
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Triggers that keep the read models in step
-- ---------------------------------------------------------------------------------------------

-- Users: addresses from mail, userPrincipalName and SMTP proxy addresses.
CREATE FUNCTION directory.users_read_model() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
        SELECT n.tenant_id, e.address, n.id, 'user', e.source
        FROM new_rows n, directory.email_addresses(n.mail, n.user_principal_name, n.proxy_addresses, NULL) e
        WHERE n.deleted_at IS NULL
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM directory.addresses a USING new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
        WHERE a.tenant_id = n.tenant_id AND a.object_id = n.id
          AND (n.mail, n.user_principal_name, n.proxy_addresses, n.deleted_at IS NULL)
              IS DISTINCT FROM (o.mail, o.user_principal_name, o.proxy_addresses, o.deleted_at IS NULL);
        INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
        SELECT n.tenant_id, e.address, n.id, 'user', e.source
        FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id,
             directory.email_addresses(n.mail, n.user_principal_name, n.proxy_addresses, NULL) e
        WHERE n.deleted_at IS NULL
          AND (n.mail, n.user_principal_name, n.proxy_addresses, n.deleted_at IS NULL)
              IS DISTINCT FROM (o.mail, o.user_principal_name, o.proxy_addresses, o.deleted_at IS NULL)
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM directory.addresses a USING old_rows o WHERE a.tenant_id = o.tenant_id AND a.object_id = o.id;
    END IF;
    RETURN NULL;
END
$$;

-- Contacts: addresses from mail and SMTP proxy addresses.
CREATE FUNCTION directory.contacts_read_model() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
        SELECT n.tenant_id, e.address, n.id, 'contact', e.source
        FROM new_rows n, directory.email_addresses(n.mail, NULL, n.proxy_addresses, NULL) e
        WHERE n.deleted_at IS NULL
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM directory.addresses a USING new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
        WHERE a.tenant_id = n.tenant_id AND a.object_id = n.id
          AND (n.mail, n.proxy_addresses, n.deleted_at IS NULL) IS DISTINCT FROM (o.mail, o.proxy_addresses, o.deleted_at IS NULL);
        INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
        SELECT n.tenant_id, e.address, n.id, 'contact', e.source
        FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id,
             directory.email_addresses(n.mail, NULL, n.proxy_addresses, NULL) e
        WHERE n.deleted_at IS NULL
          AND (n.mail, n.proxy_addresses, n.deleted_at IS NULL) IS DISTINCT FROM (o.mail, o.proxy_addresses, o.deleted_at IS NULL)
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM directory.addresses a USING old_rows o WHERE a.tenant_id = o.tenant_id AND a.object_id = o.id;
    END IF;
    RETURN NULL;
END
$$;

-- Groups: addresses from mail and SMTP proxy addresses; a group that appears or disappears (created,
-- deleted, restored) changes the nesting of everything below it.
CREATE FUNCTION directory.groups_read_model() RETURNS trigger
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
        -- A group listed as a member before its own row arrived: its nesting starts now.
        FOR t IN SELECT n.tenant_id, array_agg(n.id) AS ids FROM new_rows n
                 WHERE n.deleted_at IS NULL
                   AND (EXISTS (SELECT 1 FROM directory.group_members m WHERE m.tenant_id = n.tenant_id AND m.member_id = n.id AND m.member_type = 'group')
                        OR EXISTS (SELECT 1 FROM directory.group_members m WHERE m.tenant_id = n.tenant_id AND m.group_id = n.id AND m.member_type = 'group'))
                 GROUP BY n.tenant_id LOOP
            PERFORM directory.refresh_group_ancestors(t.tenant_id, t.ids);
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
        FOR t IN SELECT n.tenant_id, array_agg(n.id) AS ids FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
                 WHERE (n.deleted_at IS NULL) <> (o.deleted_at IS NULL) GROUP BY n.tenant_id LOOP
            PERFORM directory.refresh_group_ancestors(t.tenant_id, t.ids);
        END LOOP;
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

-- Memberships: a nested group added or removed changes the nesting of everything below it.
CREATE FUNCTION directory.group_members_read_model() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
DECLARE
    t record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        FOR t IN SELECT n.tenant_id, array_agg(DISTINCT n.member_id) AS ids FROM new_rows n
                 WHERE n.member_type = 'group' GROUP BY n.tenant_id LOOP
            PERFORM directory.refresh_group_ancestors(t.tenant_id, t.ids);
        END LOOP;
    ELSIF TG_OP = 'UPDATE' THEN
        FOR t IN SELECT n.tenant_id, array_agg(DISTINCT n.member_id) AS ids
                 FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.group_id = n.group_id AND o.member_id = n.member_id
                 WHERE (n.member_type = 'group') <> (o.member_type = 'group') GROUP BY n.tenant_id LOOP
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

CREATE TRIGGER users_read_model_insert AFTER INSERT ON directory.users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.users_read_model();
CREATE TRIGGER users_read_model_update AFTER UPDATE ON directory.users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.users_read_model();
CREATE TRIGGER users_read_model_delete AFTER DELETE ON directory.users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.users_read_model();
CREATE TRIGGER contacts_read_model_insert AFTER INSERT ON directory.contacts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.contacts_read_model();
CREATE TRIGGER contacts_read_model_update AFTER UPDATE ON directory.contacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.contacts_read_model();
CREATE TRIGGER contacts_read_model_delete AFTER DELETE ON directory.contacts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.contacts_read_model();
CREATE TRIGGER groups_read_model_insert AFTER INSERT ON directory.groups REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.groups_read_model();
CREATE TRIGGER groups_read_model_update AFTER UPDATE ON directory.groups REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.groups_read_model();
CREATE TRIGGER groups_read_model_delete AFTER DELETE ON directory.groups REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.groups_read_model();
CREATE TRIGGER group_members_read_model_insert AFTER INSERT ON directory.group_members REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.group_members_read_model();
CREATE TRIGGER group_members_read_model_update AFTER UPDATE ON directory.group_members REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.group_members_read_model();
CREATE TRIGGER group_members_read_model_delete AFTER DELETE ON directory.group_members REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION directory.group_members_read_model();

-- Rows synced before this version get their read models now.
INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
SELECT u.tenant_id, e.address, u.id, 'user', e.source
FROM directory.users u, directory.email_addresses(u.mail, u.user_principal_name, u.proxy_addresses, NULL) e
WHERE u.deleted_at IS NULL ON CONFLICT DO NOTHING;
INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
SELECT g.tenant_id, e.address, g.id, 'group', e.source
FROM directory.groups g, directory.email_addresses(g.mail, NULL, g.proxy_addresses, NULL) e
WHERE g.deleted_at IS NULL ON CONFLICT DO NOTHING;
SELECT directory.refresh_group_ancestors(t.tenant_id, t.ids)
FROM (SELECT tenant_id, array_agg(id) AS ids FROM directory.groups WHERE deleted_at IS NULL GROUP BY tenant_id) AS t;

-- ---------------------------------------------------------------------------------------------
-- The read API
-- ---------------------------------------------------------------------------------------------

-- An address as a service receives it, in the form directory.addresses stores: surrounding white
-- space and one pair of <> removed, an smtp: prefix of any case removed, lower-cased.
CREATE FUNCTION directory.normalize_address(p_address text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
    SELECT lower(CASE WHEN lower(left(a, 5)) = 'smtp:' THEN substr(a, 6) ELSE a END)
    FROM (SELECT CASE WHEN left(t, 1) = '<' AND right(t, 1) = '>' THEN btrim(substr(t, 2, length(t) - 2)) ELSE t END AS a
          FROM (SELECT btrim(p_address) AS t) AS trimmed) AS unbracketed
$$;

-- Every live group that contains the object directly (depth 1) or through nested groups (depth =
-- the shortest chain). Works for any member type, stored or not (devices, service principals).
CREATE FUNCTION directory.member_of(p_tenant uuid, p_object uuid) RETURNS TABLE (group_id uuid, depth integer)
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, directory AS $$
BEGIN
    RETURN QUERY
    SELECT x.g, min(x.d)::integer
    FROM (
        SELECT m.group_id AS g, 1 AS d
        FROM directory.group_members m
        JOIN directory.groups p ON p.tenant_id = m.tenant_id AND p.id = m.group_id AND p.deleted_at IS NULL
        WHERE m.tenant_id = p_tenant AND m.member_id = p_object AND m.group_id <> p_object
        UNION ALL
        SELECT a.ancestor_id, a.depth + 1
        FROM directory.group_members m
        JOIN directory.groups p ON p.tenant_id = m.tenant_id AND p.id = m.group_id AND p.deleted_at IS NULL
        JOIN directory.group_ancestors a ON a.tenant_id = m.tenant_id AND a.group_id = m.group_id
        WHERE m.tenant_id = p_tenant AND m.member_id = p_object AND a.ancestor_id <> p_object
    ) AS x
    GROUP BY x.g;
END
$$;

-- Every member of the group reachable through nested groups (nested groups listed too), with the
-- length of the shortest chain, excluding the group itself; members whose user, group or contact
-- row is deleted are left out. A deleted group has no members.
CREATE FUNCTION directory.transitive_members(p_tenant uuid, p_group uuid) RETURNS TABLE (member_id uuid, member_type text, depth integer)
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, directory AS $$
BEGIN
    RETURN QUERY
    WITH containers AS (
        SELECT g.id AS g, 0 AS d FROM directory.groups g WHERE g.tenant_id = p_tenant AND g.id = p_group AND g.deleted_at IS NULL
        UNION ALL
        SELECT a.group_id, a.depth FROM directory.group_ancestors a
        WHERE a.tenant_id = p_tenant AND a.ancestor_id = p_group
          AND EXISTS (SELECT 1 FROM directory.groups g WHERE g.tenant_id = p_tenant AND g.id = p_group AND g.deleted_at IS NULL)
    )
    SELECT m.member_id, min(m.member_type), min(c.d + 1)::integer
    FROM containers c
    JOIN directory.group_members m ON m.tenant_id = p_tenant AND m.group_id = c.g
    WHERE m.member_id <> p_group
      AND NOT EXISTS (SELECT 1 FROM directory.users u WHERE m.member_type = 'user' AND u.tenant_id = p_tenant AND u.id = m.member_id AND u.deleted_at IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM directory.groups g WHERE m.member_type = 'group' AND g.tenant_id = p_tenant AND g.id = m.member_id AND g.deleted_at IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM directory.contacts k WHERE m.member_type = 'orgContact' AND k.tenant_id = p_tenant AND k.id = m.member_id AND k.deleted_at IS NOT NULL)
    GROUP BY m.member_id;
END
$$;

-- The live objects that own an email address (several when several tenants, or a guest account,
-- hold it; none when nobody does): who they are, whether the address is internal (its domain is a
-- verified domain of that tenant) and every live group they belong to, nested ones too, sorted.
CREATE FUNCTION directory.resolve(p_address text, p_tenant uuid DEFAULT NULL)
RETURNS TABLE (tenant_id uuid, object_id uuid, object_type text, display_name text, account_enabled boolean, user_type text,
               internal boolean, group_ids uuid[])
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, directory AS $$
DECLARE
    wanted text := directory.normalize_address(p_address);
    wanted_domain text := substring(directory.normalize_address(p_address) FROM '@([^@]*)$');
BEGIN
    RETURN QUERY
    SELECT a.tenant_id, a.object_id, a.object_type,
           coalesce(u.display_name, g.display_name, c.display_name),
           u.account_enabled, u.user_type,
           EXISTS (SELECT 1 FROM directory.tenant_domains d WHERE d.tenant_id = a.tenant_id AND d.domain = wanted_domain AND d.is_verified),
           ARRAY(SELECT mo.group_id FROM directory.member_of(a.tenant_id, a.object_id) mo ORDER BY mo.group_id)
    FROM directory.addresses a
    LEFT JOIN directory.users u ON a.object_type = 'user' AND u.tenant_id = a.tenant_id AND u.id = a.object_id
    LEFT JOIN directory.groups g ON a.object_type = 'group' AND g.tenant_id = a.tenant_id AND g.id = a.object_id
    LEFT JOIN directory.contacts c ON a.object_type = 'contact' AND c.tenant_id = a.tenant_id AND c.id = a.object_id
    WHERE a.address = wanted AND (p_tenant IS NULL OR a.tenant_id = p_tenant)
    ORDER BY a.tenant_id, a.object_id;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- directory_reader: read the contract and run the read API, nothing else
-- ---------------------------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'directory_reader') THEN
        CREATE ROLE directory_reader NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another database of this cluster created it at the same moment
    WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'dirsync migrate cannot create the role directory_reader: the migrating user lacks CREATEROLE'
            USING HINT = 'create it once as a superuser (CREATE ROLE directory_reader NOLOGIN), or grant CREATEROLE, then run dirsync migrate again';
END
$$;

REVOKE ALL ON FUNCTION directory.member_of(uuid, uuid), directory.transitive_members(uuid, uuid), directory.resolve(text, uuid),
    directory.normalize_address(text), directory.email_addresses(text, text, text[], text[]),
    directory.refresh_group_ancestors(uuid, uuid[]) FROM PUBLIC;
GRANT USAGE ON SCHEMA directory TO directory_reader;
GRANT SELECT ON directory.domains, directory.users, directory.groups, directory.contacts, directory.group_members,
    directory.addresses, directory.group_ancestors, directory.tenant_domains TO directory_reader;
GRANT EXECUTE ON FUNCTION directory.member_of(uuid, uuid), directory.transitive_members(uuid, uuid), directory.resolve(text, uuid),
    directory.normalize_address(text), directory.email_addresses(text, text, text[], text[]) TO directory_reader;
