-- dirsync schema, version 8: more of each person and group, operator-chosen properties, and the
-- property set each cursor was made with.

-- Contract columns (read contract; NULL until the first full round after this migration fills them).
ALTER TABLE directory.users
    ADD COLUMN employee_id                      text NULL,
    ADD COLUMN employee_type                    text NULL,
    ADD COLUMN company_name                     text NULL,
    ADD COLUMN office_location                  text NULL,
    -- Further addresses of the user (they also feed directory.addresses, source other_mail).
    ADD COLUMN other_mails                      text[] NULL,
    -- createdDateTime.
    ADD COLUMN created_at                       timestamptz NULL,
    ADD COLUMN creation_type                    text NULL,
    ADD COLUMN external_user_state              text NULL,
    ADD COLUMN on_premises_sync_enabled         boolean NULL,
    ADD COLUMN on_premises_immutable_id         text NULL,
    ADD COLUMN on_premises_sam_account_name     text NULL,
    ADD COLUMN on_premises_security_identifier  text NULL,
    -- The manager's object id (Graph's manager relationship); NULL when none.
    ADD COLUMN manager_id                       uuid NULL,
    -- Properties the operator chose (DIRSYNC_USER_PROPERTIES), keyed by Graph name, values as Graph
    -- sent them (JSON null kept); only keys of the current selection.
    ADD COLUMN attributes                       jsonb NOT NULL DEFAULT '{}';

ALTER TABLE directory.groups
    ADD COLUMN visibility                       text NULL,
    ADD COLUMN created_at                       timestamptz NULL,
    ADD COLUMN on_premises_sync_enabled         boolean NULL,
    ADD COLUMN attributes                       jsonb NOT NULL DEFAULT '{}';

CREATE INDEX users_manager_idx ON directory.users (tenant_id, manager_id) WHERE manager_id IS NOT NULL;

-- The properties the newest stored link of a cursor was made with (Graph bakes $select into its
-- delta state). A run that reads other properties starts one full round instead of continuing it.
ALTER TABLE directory.sync_cursors ADD COLUMN selected_properties text[] NULL;
-- Links stored before this migration were made with the properties version 7 read, so the first
-- run after the upgrade resyncs each resource once and names the properties it adds.
UPDATE directory.sync_cursors SET selected_properties = CASE resource
    WHEN 'users' THEN ARRAY['accountEnabled', 'department', 'displayName', 'givenName', 'jobTitle', 'mail', 'proxyAddresses',
                            'surname', 'userPrincipalName', 'userType']
    WHEN 'groups' THEN ARRAY['description', 'displayName', 'groupTypes', 'mail', 'mailEnabled', 'mailNickname', 'proxyAddresses',
                             'securityEnabled']
    WHEN 'contacts' THEN ARRAY['companyName', 'department', 'displayName', 'givenName', 'jobTitle', 'mail', 'mailNickname',
                               'proxyAddresses', 'surname']
END;

-- Why a round is not the usual one (a resync and its cause): shown by status while it runs, and
-- kept in the run record.
ALTER TABLE directory.sync_progress ADD COLUMN note text NULL;
ALTER TABLE directory.sync_runs ADD COLUMN reason text NULL;

-- Users' addresses now include otherMails.
CREATE OR REPLACE FUNCTION directory.users_read_model() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
        SELECT n.tenant_id, e.address, n.id, 'user', e.source
        FROM new_rows n, directory.email_addresses(n.mail, n.user_principal_name, n.proxy_addresses, n.other_mails) e
        WHERE n.deleted_at IS NULL
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM directory.addresses a USING new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
        WHERE a.tenant_id = n.tenant_id AND a.object_id = n.id
          AND (n.mail, n.user_principal_name, n.proxy_addresses, n.other_mails, n.deleted_at IS NULL)
              IS DISTINCT FROM (o.mail, o.user_principal_name, o.proxy_addresses, o.other_mails, o.deleted_at IS NULL);
        INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
        SELECT n.tenant_id, e.address, n.id, 'user', e.source
        FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id,
             directory.email_addresses(n.mail, n.user_principal_name, n.proxy_addresses, n.other_mails) e
        WHERE n.deleted_at IS NULL
          AND (n.mail, n.user_principal_name, n.proxy_addresses, n.other_mails, n.deleted_at IS NULL)
              IS DISTINCT FROM (o.mail, o.user_principal_name, o.proxy_addresses, o.other_mails, o.deleted_at IS NULL)
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM directory.addresses a USING old_rows o WHERE a.tenant_id = o.tenant_id AND a.object_id = o.id;
    END IF;
    RETURN NULL;
END
$$;
