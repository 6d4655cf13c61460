-- Organisation, people and the customers served.

-- Keeps updated_at honest on every UPDATE without relying on each writer to set it.
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

-- agency → office → team. `path` holds the ids from the root down to the unit itself, so a
-- subtree is `path @> ARRAY[root_id]` (GIN-indexed) instead of a recursive query per request.
CREATE TABLE org_units (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,63}$'),
    name        TEXT NOT NULL CHECK (length(btrim(name)) > 0),
    parent_id   BIGINT REFERENCES org_units (id),
    path        BIGINT[] NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX org_units_parent_id_idx ON org_units (parent_id);
CREATE INDEX org_units_path_idx ON org_units USING GIN (path);

CREATE FUNCTION org_units_set_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_path BIGINT[];
BEGIN
    IF NEW.parent_id IS NULL THEN
        NEW.path := ARRAY[NEW.id];
    ELSE
        SELECT path INTO parent_path FROM org_units WHERE id = NEW.parent_id;
        IF parent_path IS NULL THEN
            RAISE EXCEPTION 'parent org unit % does not exist', NEW.parent_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF NEW.id = ANY (parent_path) THEN
            RAISE EXCEPTION 'org unit % cannot be moved under its own subtree', NEW.id
                USING ERRCODE = 'check_violation';
        END IF;
        NEW.path := parent_path || NEW.id;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER org_units_set_path_on_insert BEFORE INSERT ON org_units
    FOR EACH ROW EXECUTE FUNCTION org_units_set_path();
CREATE TRIGGER org_units_set_path_on_move BEFORE UPDATE OF parent_id ON org_units
    FOR EACH ROW WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id)
    EXECUTE FUNCTION org_units_set_path();

-- After a move, every descendant's path is rewritten from the moved unit's new path.
CREATE FUNCTION org_units_repath_descendants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE org_units
       SET path = NEW.path || path[array_position(path, NEW.id) + 1 :]
     WHERE path @> ARRAY[NEW.id] AND id <> NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER org_units_repath_after_move AFTER UPDATE OF parent_id ON org_units
    FOR EACH ROW WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id)
    EXECUTE FUNCTION org_units_repath_descendants();
CREATE TRIGGER org_units_touch BEFORE UPDATE ON org_units
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE topics (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,63}$'),
    name        TEXT NOT NULL CHECK (length(btrim(name)) > 0),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER topics_touch BEFORE UPDATE ON topics
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE users (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           TEXT NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    display_name    TEXT NOT NULL CHECK (length(btrim(display_name)) > 0),
    role            TEXT NOT NULL
                    CHECK (role IN ('ingest', 'agent', 'supervisor', 'analyst', 'auditor', 'admin')),
    org_unit_id     BIGINT NOT NULL REFERENCES org_units (id),
    -- argon2id PHC string; NULL for service accounts, which only ever hold minted tokens.
    password_hash   TEXT CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_org_unit_id_idx ON users (org_unit_id);
CREATE INDEX users_role_idx ON users (role);
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- The only table holding customer PII. Other roles see a keyed-hash pseudonym of customer_ref.
CREATE TABLE customers (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_ref    TEXT NOT NULL UNIQUE CHECK (length(customer_ref) > 0),
    business_name   TEXT,
    contact_name    TEXT,
    email           TEXT,
    phone           TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER customers_touch BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
