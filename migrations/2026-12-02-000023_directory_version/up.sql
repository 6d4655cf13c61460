-- The organisation directory's version: every statement that changes users, org units or
-- topics adds one, in the same transaction. Each server keeps the directory rows it has read
-- in memory (src/db/directory.rs) and uses them only at the version the request's session
-- check reads from here, so a change is seen by the next request on every server.
CREATE TABLE directory_version (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    version BIGINT NOT NULL CHECK (version > 0)
);
INSERT INTO directory_version (singleton, version) VALUES (TRUE, 1);

CREATE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_version SET version = version + 1;
    RETURN NULL;
END
$$;

-- Statement triggers: one bump per statement however many rows it changes (an import of
-- thousands of users is one bump per batch), and TRUNCATE too.
CREATE TRIGGER users_directory_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER org_units_directory_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON org_units
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER topics_directory_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON topics
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
