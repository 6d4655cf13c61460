-- Interactions and the surveys about them.

CREATE TABLE interactions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- (source, external_id) is the idempotency key of every integration push and import.
    source          TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    external_id     TEXT NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    channel         TEXT NOT NULL CHECK (channel IN
                        ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL', 'WEB_SELF_SERVICE', 'IVR', 'SMS')),
    org_unit_id     BIGINT NOT NULL REFERENCES org_units (id),
    agent_id        BIGINT REFERENCES users (id),
    customer_id     BIGINT REFERENCES customers (id),
    topic_id        BIGINT REFERENCES topics (id),
    started_at      TIMESTAMPTZ NOT NULL,
    wait_seconds    INTEGER CHECK (wait_seconds >= 0),
    handle_seconds  INTEGER CHECK (handle_seconds >= 0),
    transfers       INTEGER NOT NULL DEFAULT 0 CHECK (transfers >= 0),
    abandoned       BOOLEAN NOT NULL DEFAULT FALSE,
    outcome         TEXT CHECK (outcome IN ('resolved', 'unresolved', 'referred', 'escalated')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT interactions_source_external_id_key UNIQUE (source, external_id)
);
-- Keyset pagination and every filter of the API (period, channel, unit, agent, topic, outcome).
CREATE INDEX interactions_started_at_id_idx ON interactions (started_at, id);
CREATE INDEX interactions_org_unit_started_idx ON interactions (org_unit_id, started_at);
CREATE INDEX interactions_agent_started_idx ON interactions (agent_id, started_at) WHERE agent_id IS NOT NULL;
CREATE INDEX interactions_channel_started_idx ON interactions (channel, started_at);
CREATE INDEX interactions_topic_started_idx ON interactions (topic_id, started_at);
CREATE INDEX interactions_outcome_started_idx ON interactions (outcome, started_at) WHERE outcome IS NOT NULL;
-- Repeat-contact windows (first contact resolution, self-service containment).
CREATE INDEX interactions_customer_topic_started_idx ON interactions (customer_id, topic_id, started_at)
    WHERE customer_id IS NOT NULL;

CREATE TABLE survey_invitations (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Imported invitations carry their own key; invitations created through the API do not.
    source          TEXT CHECK (length(source) BETWEEN 1 AND 100),
    external_id     TEXT CHECK (length(external_id) BETWEEN 1 AND 200),
    interaction_id  BIGINT NOT NULL REFERENCES interactions (id),
    kind            TEXT NOT NULL CHECK (kind IN ('post_call', 'live_chat', 'follow_up')),
    sent_at         TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ,
    -- sha256 of the one-time token; the token itself is shown once and never stored.
    token_hash      BYTEA UNIQUE,
    responded_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT survey_invitations_source_external_id_key UNIQUE (source, external_id),
    CONSTRAINT survey_invitations_key_complete CHECK ((source IS NULL) = (external_id IS NULL)),
    CONSTRAINT survey_invitations_expiry_after_sending CHECK (expires_at IS NULL OR expires_at > sent_at)
);
CREATE INDEX survey_invitations_interaction_idx ON survey_invitations (interaction_id, kind);
CREATE INDEX survey_invitations_sent_at_id_idx ON survey_invitations (sent_at, id);

CREATE TABLE survey_responses (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          TEXT CHECK (length(source) BETWEEN 1 AND 100),
    external_id     TEXT CHECK (length(external_id) BETWEEN 1 AND 200),
    kind            TEXT NOT NULL CHECK (kind IN ('post_call', 'live_chat', 'follow_up')),
    interaction_id  BIGINT NOT NULL REFERENCES interactions (id),
    invitation_id   BIGINT UNIQUE REFERENCES survey_invitations (id),
    -- The staff member who recorded a follow-up assessment; NULL for customer-submitted responses.
    recorded_by     BIGINT REFERENCES users (id),
    submitted_at    TIMESTAMPTZ NOT NULL,
    satisfaction    SMALLINT CHECK (satisfaction BETWEEN 1 AND 5),
    trust           SMALLINT CHECK (trust BETWEEN 1 AND 5),
    effectiveness   SMALLINT CHECK (effectiveness BETWEEN 1 AND 5),
    ease            SMALLINT CHECK (ease BETWEEN 1 AND 5),
    efficiency      SMALLINT CHECK (efficiency BETWEEN 1 AND 5),
    transparency    SMALLINT CHECK (transparency BETWEEN 1 AND 5),
    helpfulness     SMALLINT CHECK (helpfulness BETWEEN 1 AND 5),
    resolved        BOOLEAN,
    comment         TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT survey_responses_source_external_id_key UNIQUE (source, external_id),
    CONSTRAINT survey_responses_key_complete CHECK ((source IS NULL) = (external_id IS NULL))
);
CREATE INDEX survey_responses_interaction_idx ON survey_responses (interaction_id, kind);
CREATE INDEX survey_responses_submitted_at_id_idx ON survey_responses (submitted_at, id);
CREATE INDEX survey_responses_kind_submitted_idx ON survey_responses (kind, submitted_at);
