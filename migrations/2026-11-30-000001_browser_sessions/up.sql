-- Web front sessions (src/http/web_front/): a signed-in browser holds an opaque cookie whose SHA-256 is
-- kept here, naming a row of `sessions` of kind 'browser'. Logout, deactivation and session
-- expiry work exactly as for access tokens; the role recorded at sign-in plays the part of the
-- token's role claim, so a role change ends the cookie's session too.
ALTER TABLE sessions DROP CONSTRAINT sessions_kind_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_kind_check
    CHECK (kind IN ('login', 'minted', 'browser'));

CREATE TABLE session_cookies (
    token_hash      BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id      UUID NOT NULL UNIQUE REFERENCES sessions (id) ON DELETE CASCADE,
    role            TEXT NOT NULL
                    CHECK (role IN ('ingest', 'agent', 'supervisor', 'analyst', 'auditor', 'admin')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
