-- A first round of users or contacts no longer keeps directory.addresses page by page: the
-- transaction that completes the round builds the tenant's addresses of that kind in one statement
-- (directory.rebuild_addresses), as the nesting closure already is for groups. Row by row, the
-- addresses of a 100k-user first sync took ~2.6 s of the database's time across its transactions;
-- built at once, ~1.5 s. Later rounds, --full and 410 resyncs keep them with every page as before.
-- Groups keep their trigger as it is: it also keeps the nesting, and their addresses are few.

DROP TRIGGER users_read_model_insert ON directory.users;
DROP TRIGGER users_read_model_update ON directory.users;
CREATE TRIGGER users_read_model_insert AFTER INSERT ON directory.users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT directory.loading_first_round()) EXECUTE FUNCTION directory.users_read_model();
CREATE TRIGGER users_read_model_update AFTER UPDATE ON directory.users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT directory.loading_first_round()) EXECUTE FUNCTION directory.users_read_model();

DROP TRIGGER contacts_read_model_insert ON directory.contacts;
DROP TRIGGER contacts_read_model_update ON directory.contacts;
CREATE TRIGGER contacts_read_model_insert AFTER INSERT ON directory.contacts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT directory.loading_first_round()) EXECUTE FUNCTION directory.contacts_read_model();
CREATE TRIGGER contacts_read_model_update AFTER UPDATE ON directory.contacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT directory.loading_first_round()) EXECUTE FUNCTION directory.contacts_read_model();

-- Replaces a tenant's addresses of users ('user') or contacts ('contact') with those their live rows
-- carry, by the rules of the triggers (directory.email_addresses), in the primary key's order.
CREATE FUNCTION directory.rebuild_addresses(p_tenant uuid, p_object_type text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, directory AS $$
BEGIN
    DELETE FROM directory.addresses WHERE tenant_id = p_tenant AND object_type = p_object_type;
    IF p_object_type = 'user' THEN
        INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
        SELECT u.tenant_id, e.address, u.id, 'user', e.source
        FROM directory.users u, directory.email_addresses(u.mail, u.user_principal_name, u.proxy_addresses, u.other_mails) e
        WHERE u.tenant_id = p_tenant AND u.deleted_at IS NULL
        ORDER BY u.id, e.address
        ON CONFLICT DO NOTHING;
    ELSIF p_object_type = 'contact' THEN
        INSERT INTO directory.addresses (tenant_id, address, object_id, object_type, source)
        SELECT c.tenant_id, e.address, c.id, 'contact', e.source
        FROM directory.contacts c, directory.email_addresses(c.mail, NULL, c.proxy_addresses, NULL) e
        WHERE c.tenant_id = p_tenant AND c.deleted_at IS NULL
        ORDER BY c.id, e.address
        ON CONFLICT DO NOTHING;
    ELSE
        RAISE EXCEPTION 'rebuild_addresses: no addresses are built for object type %', p_object_type;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION directory.rebuild_addresses(uuid, text) FROM PUBLIC;
