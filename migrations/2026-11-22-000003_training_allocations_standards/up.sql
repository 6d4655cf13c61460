-- What the findings drive: staff training, resource allocation, published service standards.

CREATE TABLE training_courses (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,63}$'),
    title           TEXT NOT NULL CHECK (length(btrim(title)) > 0),
    description     TEXT,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER training_courses_touch BEFORE UPDATE ON training_courses
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE training_assignments (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id        BIGINT NOT NULL REFERENCES users (id),
    course_id       BIGINT NOT NULL REFERENCES training_courses (id),
    assigned_by     BIGINT NOT NULL REFERENCES users (id),
    reason          TEXT NOT NULL CHECK (length(btrim(reason)) > 0),
    due_at          TIMESTAMPTZ,
    completed_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX training_assignments_agent_idx ON training_assignments (agent_id, created_at);
CREATE INDEX training_assignments_course_idx ON training_assignments (course_id, completed_at);
CREATE INDEX training_assignments_created_id_idx ON training_assignments (created_at, id);
CREATE TRIGGER training_assignments_touch BEFORE UPDATE ON training_assignments
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE resource_allocations (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_unit_id             BIGINT NOT NULL REFERENCES org_units (id),
    channel                 TEXT NOT NULL CHECK (channel IN
                                ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL', 'WEB_SELF_SERVICE', 'IVR', 'SMS')),
    period_start            DATE NOT NULL,
    period_end              DATE NOT NULL,
    staff_hours_per_week    DOUBLE PRECISION NOT NULL CHECK (staff_hours_per_week >= 0),
    fte                     DOUBLE PRECISION NOT NULL CHECK (fte >= 0),
    budget_cents            BIGINT NOT NULL DEFAULT 0 CHECK (budget_cents >= 0),
    status                  TEXT NOT NULL DEFAULT 'proposed'
                                CHECK (status IN ('proposed', 'approved', 'rejected')),
    rationale               TEXT NOT NULL CHECK (length(btrim(rationale)) > 0),
    proposed_by             BIGINT NOT NULL REFERENCES users (id),
    decided_by              BIGINT REFERENCES users (id),
    decided_at              TIMESTAMPTZ,
    decision_note           TEXT,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT resource_allocations_period_order CHECK (period_end >= period_start),
    CONSTRAINT resource_allocations_decision_complete CHECK (
        (status = 'proposed' AND decided_by IS NULL AND decided_at IS NULL)
        OR (status <> 'proposed' AND decided_by IS NOT NULL AND decided_at IS NOT NULL))
);
CREATE INDEX resource_allocations_unit_channel_idx
    ON resource_allocations (org_unit_id, channel, period_start);
CREATE INDEX resource_allocations_status_idx ON resource_allocations (status, period_start);
CREATE TRIGGER resource_allocations_touch BEFORE UPDATE ON resource_allocations
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Published targets (GPRA-style goals): "CSAT at least 0.85 on CHAT for the whole agency".
CREATE TABLE service_standards (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    metric          TEXT NOT NULL CHECK (metric IN (
                        'INTERACTIONS', 'ABANDONMENT_RATE', 'AVERAGE_SPEED_OF_ANSWER', 'SERVICE_LEVEL',
                        'AVERAGE_HANDLE_TIME', 'TRANSFER_RATE', 'FIRST_CONTACT_RESOLUTION',
                        'SELF_SERVICE_CONTAINMENT', 'CSAT', 'TRUST', 'EFFECTIVENESS', 'EASE', 'EFFICIENCY',
                        'TRANSPARENCY', 'HELPFULNESS', 'REPORTED_RESOLUTION', 'SURVEY_RESPONSE_RATE')),
    comparator      TEXT NOT NULL CHECK (comparator IN ('AT_LEAST', 'AT_MOST')),
    target          DOUBLE PRECISION NOT NULL,
    channel         TEXT CHECK (channel IN
                        ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL', 'WEB_SELF_SERVICE', 'IVR', 'SMS')),
    org_unit_id     BIGINT REFERENCES org_units (id),
    -- Only meaningful for SERVICE_LEVEL: the answer threshold the target is stated against.
    threshold_seconds INTEGER CHECK (threshold_seconds > 0),
    effective_from  DATE NOT NULL,
    effective_to    DATE,
    description     TEXT,
    created_by      BIGINT NOT NULL REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT service_standards_effective_order CHECK (effective_to IS NULL OR effective_to >= effective_from)
);
CREATE INDEX service_standards_effective_idx ON service_standards (effective_from, effective_to);
CREATE INDEX service_standards_org_unit_idx ON service_standards (org_unit_id);
CREATE TRIGGER service_standards_touch BEFORE UPDATE ON service_standards
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
