-- The audit trail and login sessions.

-- Append-only and hash-chained: hash = sha256(prev_hash || canonical event). The chain is written
-- by the application inside the same transaction as the change it records.
CREATE TABLE audit_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at     TIMESTAMPTZ NOT NULL,
    actor_id        BIGINT REFERENCES users (id),
    actor_role      TEXT,
    action          TEXT NOT NULL,
    entity_type     TEXT NOT NULL,
    entity_id       TEXT,
    before          JSONB,
    after           JSONB,
    request_id      TEXT,
    prev_hash       BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash            BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32)
);
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, id);

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

-- One row per login (or minted token). Access tokens name their session; revoking the session
-- (logout, refresh-token reuse) refuses them on the next request.
CREATE TABLE sessions (
    id              UUID PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    kind            TEXT NOT NULL CHECK (kind IN ('login', 'minted')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ,
    revoked_reason  TEXT CHECK (revoked_reason IN ('logout', 'refresh_token_reuse', 'deactivated'))
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Refresh tokens rotate: each use spends the token and issues its successor in the same session.
-- Presenting a spent token again is treated as theft and revokes the whole session.
CREATE TABLE refresh_tokens (
    token_hash      BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id      UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    spent_at        TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
