-- Training insights (issue 5): which metrics a course addresses, and the evidence of the need an
-- assignment answers.

-- Metric names of the catalogue (docs/metrics.md). An array is valid when it holds only these names: `<@` is false for
-- any other name and for NULL elements, so neither can slip in.
ALTER TABLE training_courses
    ADD COLUMN addressed_metrics TEXT[] NOT NULL DEFAULT '{}'
        CONSTRAINT training_courses_addressed_metrics_known CHECK (addressed_metrics <@ ARRAY[
            'INTERACTIONS', 'ABANDONMENT_RATE', 'AVERAGE_SPEED_OF_ANSWER', 'SERVICE_LEVEL',
            'AVERAGE_HANDLE_TIME', 'TRANSFER_RATE', 'FIRST_CONTACT_RESOLUTION',
            'SELF_SERVICE_CONTAINMENT', 'CSAT', 'TRUST', 'EFFECTIVENESS', 'EASE', 'EFFICIENCY',
            'TRANSPARENCY', 'HELPFULNESS', 'REPORTED_RESOLUTION', 'SURVEY_RESPONSE_RATE']::text[]);

-- The evidence (metric, period, agent and team values) of the training need an assignment
-- answers, as the server recomputed it when the assignment was made; NULL when it was assigned
-- for another reason.
ALTER TABLE training_assignments
    ADD COLUMN need JSONB
        CONSTRAINT training_assignments_need_object CHECK (need IS NULL OR jsonb_typeof(need) = 'object');
