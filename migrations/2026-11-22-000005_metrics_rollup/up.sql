-- Metrics engine storage (docs/metrics.md): per-interaction facts, the daily rollups that answer
-- day-or-coarser metric requests, and the triggers that keep both exact on every write.
--
-- * Facts. First contact resolution and self-service containment depend on *later*
--   interactions (a repeat contact within 7 days, an assisted contact within 24 hours). Each
--   interaction keeps two flags, set when such a later interaction arrives, whatever the order in
--   which records are pushed or imported. The windows are elapsed time: 168 and 24 hours.
-- * Rollups. `metric_daily_cells` holds additive sums per (local day, org unit, channel, agent,
--   topic); `metric_daily_units` the same per (local day, org unit, channel), small enough that a
--   year of an agency answers in milliseconds. Every measure is a count or a sum, so any period and
--   any grouping is a SUM over days, and clients can re-aggregate numerators and denominators.
-- * Triggers. Statement-level AFTER INSERT triggers with transition tables turn each INSERT
--   statement (one row from the API, a thousand from an import batch) into one set of upserts.
--   Concurrent writers take one advisory lock, so each sees the others' committed rows and the
--   additive upserts commute.
-- * Reference checks. Interactions check their org unit, agent, customer and topic once per
--   statement (an anti-join) instead of four foreign-key triggers per row, which cost 40% of
--   bulk-import time; referenced rows can never be deleted, so the guarantee is the same.

-- The reporting time zone the rollups' days are cut in (the application keeps it equal to
-- REPORTING_TZ and rebuilds the rollups when it changes).
CREATE TABLE metric_settings (
    singleton   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    time_zone   TEXT NOT NULL CHECK (now() AT TIME ZONE time_zone IS NOT NULL)
);
INSERT INTO metric_settings (time_zone) VALUES ('America/New_York');

-- Facts about later contacts (see the header).
ALTER TABLE interactions
    ADD COLUMN followed_by_assisted_within_7_days BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN followed_by_assisted_within_24_hours BOOLEAN NOT NULL DEFAULT FALSE;
-- Room on each page for the fact flags' updates to stay HOT (no index maintenance).
ALTER TABLE interactions SET (fillfactor = 85);

-- Channel and outcome have 8 and 4 values: their filters ride on the keyset scan of
-- (started_at, id), which a page query uses anyway; two more indexes cost every insert.
DROP INDEX interactions_channel_started_idx;
DROP INDEX interactions_outcome_started_idx;

-- Set-based reference checks replace the per-row foreign-key triggers (see the header).
ALTER TABLE interactions
    DROP CONSTRAINT interactions_org_unit_id_fkey,
    DROP CONSTRAINT interactions_agent_id_fkey,
    DROP CONSTRAINT interactions_customer_id_fkey,
    DROP CONSTRAINT interactions_topic_id_fkey;

CREATE FUNCTION refuse_record_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted (deactivate or correct them instead)', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER org_units_no_delete BEFORE DELETE ON org_units
    FOR EACH ROW EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER org_units_no_truncate BEFORE TRUNCATE ON org_units
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER users_no_delete BEFORE DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER users_no_truncate BEFORE TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER topics_no_delete BEFORE DELETE ON topics
    FOR EACH ROW EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER topics_no_truncate BEFORE TRUNCATE ON topics
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER customers_no_delete BEFORE DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER customers_no_truncate BEFORE TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER interactions_no_delete BEFORE DELETE ON interactions
    FOR EACH ROW EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER interactions_no_truncate BEFORE TRUNCATE ON interactions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER survey_invitations_no_delete BEFORE DELETE ON survey_invitations
    FOR EACH ROW EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER survey_invitations_no_truncate BEFORE TRUNCATE ON survey_invitations
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER survey_responses_no_delete BEFORE DELETE ON survey_responses
    FOR EACH ROW EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER survey_responses_no_truncate BEFORE TRUNCATE ON survey_responses
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_record_deletion();

-- What the metrics are computed from may not change after the fact: a correction is a new record.
CREATE FUNCTION refuse_measured_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'measured fields of % cannot be changed once recorded', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER interactions_measured_fields_fixed BEFORE UPDATE OF
    source, external_id, channel, org_unit_id, agent_id, customer_id, topic_id, started_at,
    wait_seconds, handle_seconds, transfers, abandoned, outcome ON interactions
    FOR EACH ROW EXECUTE FUNCTION refuse_measured_change();
CREATE TRIGGER survey_responses_measured_fields_fixed BEFORE UPDATE OF
    kind, interaction_id, satisfaction, trust, effectiveness, ease, efficiency, transparency,
    helpfulness, resolved ON survey_responses
    FOR EACH ROW EXECUTE FUNCTION refuse_measured_change();
CREATE TRIGGER survey_invitations_measured_fields_fixed BEFORE UPDATE OF
    kind, interaction_id ON survey_invitations
    FOR EACH ROW EXECUTE FUNCTION refuse_measured_change();

-- Additive daily sums; see the header. Every measure column is a count or a sum.
CREATE TABLE metric_daily_cells (
    day DATE NOT NULL,
    org_unit_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    agent_id BIGINT,
    topic_id BIGINT,
    interactions BIGINT NOT NULL DEFAULT 0,
    queued BIGINT NOT NULL DEFAULT 0,
    queued_abandoned BIGINT NOT NULL DEFAULT 0,
    answered_timed BIGINT NOT NULL DEFAULT 0,
    answered_wait_sum BIGINT NOT NULL DEFAULT 0,
    answered_wait_squares BIGINT NOT NULL DEFAULT 0,
    answered_within_10 BIGINT NOT NULL DEFAULT 0,
    answered_within_15 BIGINT NOT NULL DEFAULT 0,
    answered_within_20 BIGINT NOT NULL DEFAULT 0,
    answered_within_30 BIGINT NOT NULL DEFAULT 0,
    answered_within_45 BIGINT NOT NULL DEFAULT 0,
    answered_within_60 BIGINT NOT NULL DEFAULT 0,
    answered_within_90 BIGINT NOT NULL DEFAULT 0,
    answered_within_120 BIGINT NOT NULL DEFAULT 0,
    answered_within_180 BIGINT NOT NULL DEFAULT 0,
    answered_within_300 BIGINT NOT NULL DEFAULT 0,
    handled BIGINT NOT NULL DEFAULT 0,
    handled_transferred BIGINT NOT NULL DEFAULT 0,
    handled_first_contact_resolved BIGINT NOT NULL DEFAULT 0,
    handled_timed BIGINT NOT NULL DEFAULT 0,
    handle_sum BIGINT NOT NULL DEFAULT 0,
    handle_squares BIGINT NOT NULL DEFAULT 0,
    self_service_known BIGINT NOT NULL DEFAULT 0,
    self_service_contained BIGINT NOT NULL DEFAULT 0,
    satisfaction_answers BIGINT NOT NULL DEFAULT 0,
    satisfaction_favourable BIGINT NOT NULL DEFAULT 0,
    trust_answers BIGINT NOT NULL DEFAULT 0,
    trust_favourable BIGINT NOT NULL DEFAULT 0,
    effectiveness_answers BIGINT NOT NULL DEFAULT 0,
    effectiveness_favourable BIGINT NOT NULL DEFAULT 0,
    ease_answers BIGINT NOT NULL DEFAULT 0,
    ease_favourable BIGINT NOT NULL DEFAULT 0,
    efficiency_answers BIGINT NOT NULL DEFAULT 0,
    efficiency_favourable BIGINT NOT NULL DEFAULT 0,
    transparency_answers BIGINT NOT NULL DEFAULT 0,
    transparency_favourable BIGINT NOT NULL DEFAULT 0,
    helpfulness_answers BIGINT NOT NULL DEFAULT 0,
    helpfulness_favourable BIGINT NOT NULL DEFAULT 0,
    resolved_answers BIGINT NOT NULL DEFAULT 0,
    resolved_yes BIGINT NOT NULL DEFAULT 0,
    invitations BIGINT NOT NULL DEFAULT 0,
    invitations_answered BIGINT NOT NULL DEFAULT 0
) WITH (fillfactor = 50);
CREATE UNIQUE INDEX metric_daily_cells_key ON metric_daily_cells (day, org_unit_id, channel, agent_id, topic_id) NULLS NOT DISTINCT;

CREATE INDEX metric_daily_cells_agent_day_idx ON metric_daily_cells (agent_id, day) WHERE agent_id IS NOT NULL;
CREATE INDEX metric_daily_cells_unit_day_idx ON metric_daily_cells (org_unit_id, day);
CREATE TABLE metric_daily_units (
    day DATE NOT NULL,
    org_unit_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    interactions BIGINT NOT NULL DEFAULT 0,
    queued BIGINT NOT NULL DEFAULT 0,
    queued_abandoned BIGINT NOT NULL DEFAULT 0,
    answered_timed BIGINT NOT NULL DEFAULT 0,
    answered_wait_sum BIGINT NOT NULL DEFAULT 0,
    answered_wait_squares BIGINT NOT NULL DEFAULT 0,
    answered_within_10 BIGINT NOT NULL DEFAULT 0,
    answered_within_15 BIGINT NOT NULL DEFAULT 0,
    answered_within_20 BIGINT NOT NULL DEFAULT 0,
    answered_within_30 BIGINT NOT NULL DEFAULT 0,
    answered_within_45 BIGINT NOT NULL DEFAULT 0,
    answered_within_60 BIGINT NOT NULL DEFAULT 0,
    answered_within_90 BIGINT NOT NULL DEFAULT 0,
    answered_within_120 BIGINT NOT NULL DEFAULT 0,
    answered_within_180 BIGINT NOT NULL DEFAULT 0,
    answered_within_300 BIGINT NOT NULL DEFAULT 0,
    handled BIGINT NOT NULL DEFAULT 0,
    handled_transferred BIGINT NOT NULL DEFAULT 0,
    handled_first_contact_resolved BIGINT NOT NULL DEFAULT 0,
    handled_timed BIGINT NOT NULL DEFAULT 0,
    handle_sum BIGINT NOT NULL DEFAULT 0,
    handle_squares BIGINT NOT NULL DEFAULT 0,
    self_service_known BIGINT NOT NULL DEFAULT 0,
    self_service_contained BIGINT NOT NULL DEFAULT 0,
    satisfaction_answers BIGINT NOT NULL DEFAULT 0,
    satisfaction_favourable BIGINT NOT NULL DEFAULT 0,
    trust_answers BIGINT NOT NULL DEFAULT 0,
    trust_favourable BIGINT NOT NULL DEFAULT 0,
    effectiveness_answers BIGINT NOT NULL DEFAULT 0,
    effectiveness_favourable BIGINT NOT NULL DEFAULT 0,
    ease_answers BIGINT NOT NULL DEFAULT 0,
    ease_favourable BIGINT NOT NULL DEFAULT 0,
    efficiency_answers BIGINT NOT NULL DEFAULT 0,
    efficiency_favourable BIGINT NOT NULL DEFAULT 0,
    transparency_answers BIGINT NOT NULL DEFAULT 0,
    transparency_favourable BIGINT NOT NULL DEFAULT 0,
    helpfulness_answers BIGINT NOT NULL DEFAULT 0,
    helpfulness_favourable BIGINT NOT NULL DEFAULT 0,
    resolved_answers BIGINT NOT NULL DEFAULT 0,
    resolved_yes BIGINT NOT NULL DEFAULT 0,
    invitations BIGINT NOT NULL DEFAULT 0,
    invitations_answered BIGINT NOT NULL DEFAULT 0
) WITH (fillfactor = 50);
CREATE UNIQUE INDEX metric_daily_units_key ON metric_daily_units (day, org_unit_id, channel) NULLS NOT DISTINCT;

-- One row per interaction with its contribution to each interaction measure (stored facts).
-- `answered_wait` and `first_contact_candidate` let the records path apply any threshold and
-- recompute first contact resolution from the records instead of the stored facts.
CREATE VIEW interaction_measures AS
SELECT i.id, i.started_at, i.org_unit_id, i.channel, i.agent_id, i.topic_id, i.customer_id,
    1 AS interactions,
    (i.channel IN ('PHONE', 'CHAT'))::int AS queued,
    (i.channel IN ('PHONE', 'CHAT') AND i.abandoned)::int AS queued_abandoned,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds IS NOT NULL)::int AS answered_timed,
    CASE WHEN i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds IS NOT NULL THEN i.wait_seconds ELSE 0 END AS answered_wait_sum,
    CASE WHEN i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds IS NOT NULL THEN i.wait_seconds::bigint * i.wait_seconds ELSE 0 END AS answered_wait_squares,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 10)::int AS answered_within_10,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 15)::int AS answered_within_15,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 20)::int AS answered_within_20,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 30)::int AS answered_within_30,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 45)::int AS answered_within_45,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 60)::int AS answered_within_60,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 90)::int AS answered_within_90,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 120)::int AS answered_within_120,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 180)::int AS answered_within_180,
    (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 300)::int AS answered_within_300,
    (i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned)::int AS handled,
    (i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.transfers > 0)::int AS handled_transferred,
    (i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.outcome = 'resolved' AND i.transfers = 0 AND NOT i.followed_by_assisted_within_7_days)::int AS handled_first_contact_resolved,
    (i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.handle_seconds IS NOT NULL)::int AS handled_timed,
    CASE WHEN i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.handle_seconds IS NOT NULL THEN i.handle_seconds ELSE 0 END AS handle_sum,
    CASE WHEN i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.handle_seconds IS NOT NULL THEN i.handle_seconds::bigint * i.handle_seconds ELSE 0 END AS handle_squares,
    (i.channel IN ('WEB_SELF_SERVICE', 'IVR', 'SMS') AND i.customer_id IS NOT NULL)::int AS self_service_known,
    (i.channel IN ('WEB_SELF_SERVICE', 'IVR', 'SMS') AND i.customer_id IS NOT NULL AND NOT i.followed_by_assisted_within_24_hours)::int AS self_service_contained,
    CASE WHEN i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned THEN i.wait_seconds END AS answered_wait,
    (i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.outcome = 'resolved' AND i.transfers = 0)::int AS first_contact_candidate
FROM interactions i;

-- Filter codes to ids for the metrics query, inside its one statement; an unknown code is an
-- error whose HINT names the input field (the application reports it as BAD_USER_INPUT).
CREATE FUNCTION metric_org_unit_subtrees(codes TEXT[]) RETURNS BIGINT[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    unknown TEXT;
BEGIN
    SELECT c INTO unknown FROM unnest(codes) c
     WHERE NOT EXISTS (SELECT 1 FROM org_units o WHERE o.code = c) LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'no org unit `%`', unknown
            USING ERRCODE = 'invalid_parameter_value', HINT = 'bac-metrics:filter.orgUnitCodes';
    END IF;
    RETURN ARRAY(SELECT DISTINCT d.id FROM org_units r JOIN org_units d ON d.path @> ARRAY[r.id]
                  WHERE r.code = ANY (codes));
END $$;
CREATE FUNCTION metric_topic_ids(codes TEXT[]) RETURNS BIGINT[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    unknown TEXT;
BEGIN
    SELECT c INTO unknown FROM unnest(codes) c
     WHERE NOT EXISTS (SELECT 1 FROM topics t WHERE t.code = c) LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'no topic `%`', unknown
            USING ERRCODE = 'invalid_parameter_value', HINT = 'bac-metrics:filter.topicCodes';
    END IF;
    RETURN ARRAY(SELECT id FROM topics WHERE code = ANY (codes));
END $$;

-- One row per interaction with survey answers or invitations: its survey measures.
CREATE VIEW interaction_survey_measures AS
SELECT interaction_id,
    sum(satisfaction_answers)::bigint AS satisfaction_answers,
    sum(satisfaction_favourable)::bigint AS satisfaction_favourable,
    sum(trust_answers)::bigint AS trust_answers,
    sum(trust_favourable)::bigint AS trust_favourable,
    sum(effectiveness_answers)::bigint AS effectiveness_answers,
    sum(effectiveness_favourable)::bigint AS effectiveness_favourable,
    sum(ease_answers)::bigint AS ease_answers,
    sum(ease_favourable)::bigint AS ease_favourable,
    sum(efficiency_answers)::bigint AS efficiency_answers,
    sum(efficiency_favourable)::bigint AS efficiency_favourable,
    sum(transparency_answers)::bigint AS transparency_answers,
    sum(transparency_favourable)::bigint AS transparency_favourable,
    sum(helpfulness_answers)::bigint AS helpfulness_answers,
    sum(helpfulness_favourable)::bigint AS helpfulness_favourable,
    sum(resolved_answers)::bigint AS resolved_answers,
    sum(resolved_yes)::bigint AS resolved_yes,
    sum(invitations)::bigint AS invitations,
    sum(invitations_answered)::bigint AS invitations_answered
FROM (
    SELECT r.interaction_id,
        count(r.satisfaction) AS satisfaction_answers,
        count(*) FILTER (WHERE r.satisfaction >= 4) AS satisfaction_favourable,
        count(r.trust) AS trust_answers,
        count(*) FILTER (WHERE r.trust >= 4) AS trust_favourable,
        count(r.effectiveness) AS effectiveness_answers,
        count(*) FILTER (WHERE r.effectiveness >= 4) AS effectiveness_favourable,
        count(r.ease) AS ease_answers,
        count(*) FILTER (WHERE r.ease >= 4) AS ease_favourable,
        count(r.efficiency) AS efficiency_answers,
        count(*) FILTER (WHERE r.efficiency >= 4) AS efficiency_favourable,
        count(r.transparency) AS transparency_answers,
        count(*) FILTER (WHERE r.transparency >= 4) AS transparency_favourable,
        count(r.helpfulness) AS helpfulness_answers,
        count(*) FILTER (WHERE r.helpfulness >= 4) AS helpfulness_favourable,
        count(r.resolved) AS resolved_answers,
        count(*) FILTER (WHERE r.resolved) AS resolved_yes,
        0 AS invitations,
        0 AS invitations_answered
    FROM survey_responses r GROUP BY r.interaction_id
    UNION ALL
    SELECT v.interaction_id,
        0 AS satisfaction_answers,
        0 AS satisfaction_favourable,
        0 AS trust_answers,
        0 AS trust_favourable,
        0 AS effectiveness_answers,
        0 AS effectiveness_favourable,
        0 AS ease_answers,
        0 AS ease_favourable,
        0 AS efficiency_answers,
        0 AS efficiency_favourable,
        0 AS transparency_answers,
        0 AS transparency_favourable,
        0 AS helpfulness_answers,
        0 AS helpfulness_favourable,
        0 AS resolved_answers,
        0 AS resolved_yes,
        count(*) AS invitations,
        count(*) FILTER (WHERE EXISTS (SELECT 1 FROM survey_responses r WHERE r.interaction_id = v.interaction_id AND r.kind = v.kind)) AS invitations_answered
    FROM survey_invitations v GROUP BY v.interaction_id
) parts
GROUP BY interaction_id;

-- Serialises the writers of facts and rollups (see the header).
CREATE FUNCTION metric_lock() RETURNS void LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock(727274001) $$;

CREATE FUNCTION interactions_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone TEXT;
BEGIN
    -- Every distinct id referenced must exist: one index lookup per distinct id and table.
    IF (SELECT count(DISTINCT org_unit_id) FROM inserted)
           <> (SELECT count(*) FROM org_units WHERE id = ANY (ARRAY(SELECT DISTINCT org_unit_id FROM inserted)))
       OR (SELECT count(DISTINCT agent_id) FROM inserted)
           <> (SELECT count(*) FROM users WHERE id = ANY (ARRAY(SELECT DISTINCT agent_id FROM inserted)))
       OR (SELECT count(DISTINCT customer_id) FROM inserted)
           <> (SELECT count(*) FROM customers WHERE id = ANY (ARRAY(SELECT DISTINCT customer_id FROM inserted)))
       OR (SELECT count(DISTINCT topic_id) FROM inserted)
           <> (SELECT count(*) FROM topics WHERE id = ANY (ARRAY(SELECT DISTINCT topic_id FROM inserted)))
    THEN
        RAISE EXCEPTION 'an interaction refers to an org unit, agent, customer or topic that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    PERFORM metric_lock();
    SELECT time_zone INTO zone FROM metric_settings;

    -- One statement: the new interactions' own facts (from every interaction now visible:
    -- later ones may have arrived first, or in the same statement); earlier interactions that a
    -- new assisted one follows lose their "first contact resolved" or "contained" credit; and
    -- the new interactions add their whole contribution, computed from the transition table.
    WITH new_facts AS (
        UPDATE interactions e
           SET followed_by_assisted_within_7_days = TRUE,
               followed_by_assisted_within_24_hours = f.within_24_hours
          FROM (SELECT n.id, bool_or(x.started_at <= n.started_at + interval '24 hours') AS within_24_hours
                  FROM inserted n
                  JOIN interactions x ON x.customer_id = n.customer_id
                                     AND x.topic_id IS NOT DISTINCT FROM n.topic_id
                                     AND x.started_at > n.started_at
                                     AND x.started_at <= n.started_at + interval '168 hours'
                                     AND x.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL')
                 WHERE n.customer_id IS NOT NULL
                 GROUP BY n.id) f
         WHERE e.id = f.id
        RETURNING e.id, f.within_24_hours
    ), followed AS (
        SELECT e.id,
               bool_or(n.started_at <= e.started_at + interval '24 hours') AS within_24_hours,
               bool_and(e.followed_by_assisted_within_7_days) AS was_followed_7,
               bool_and(e.followed_by_assisted_within_24_hours) AS was_followed_24
          FROM inserted n
          JOIN interactions e ON e.customer_id = n.customer_id
                             AND e.topic_id IS NOT DISTINCT FROM n.topic_id
                             AND e.started_at < n.started_at
                             AND e.started_at >= n.started_at - interval '168 hours'
         WHERE n.customer_id IS NOT NULL
           AND n.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL')
           AND NOT EXISTS (SELECT 1 FROM inserted other WHERE other.id = e.id)
         GROUP BY e.id
    ), changed AS (
        UPDATE interactions e
           SET followed_by_assisted_within_7_days = TRUE,
               followed_by_assisted_within_24_hours = f.was_followed_24 OR f.within_24_hours
          FROM followed f
         WHERE e.id = f.id
           AND (NOT f.was_followed_7 OR (f.within_24_hours AND NOT f.was_followed_24))
        RETURNING e.*, f.was_followed_7, f.was_followed_24
    ), fresh AS (
        SELECT n.id, n.started_at, n.org_unit_id, n.channel, n.agent_id, n.topic_id, n.customer_id,
               n.wait_seconds, n.handle_seconds, n.transfers, n.abandoned, n.outcome,
               f.id IS NOT NULL AS followed_by_assisted_within_7_days,
               coalesce(f.within_24_hours, FALSE) AS followed_by_assisted_within_24_hours
          FROM inserted n
          LEFT JOIN new_facts f ON f.id = n.id
    ), delta AS (
        SELECT (i.started_at AT TIME ZONE zone)::date AS day, i.org_unit_id, i.channel, i.agent_id, i.topic_id,
               1 AS interactions,
               (i.channel IN ('PHONE', 'CHAT'))::int AS queued,
               (i.channel IN ('PHONE', 'CHAT') AND i.abandoned)::int AS queued_abandoned,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds IS NOT NULL)::int AS answered_timed,
               CASE WHEN i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds IS NOT NULL THEN i.wait_seconds ELSE 0 END AS answered_wait_sum,
               CASE WHEN i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds IS NOT NULL THEN i.wait_seconds::bigint * i.wait_seconds ELSE 0 END AS answered_wait_squares,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 10)::int AS answered_within_10,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 15)::int AS answered_within_15,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 20)::int AS answered_within_20,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 30)::int AS answered_within_30,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 45)::int AS answered_within_45,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 60)::int AS answered_within_60,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 90)::int AS answered_within_90,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 120)::int AS answered_within_120,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 180)::int AS answered_within_180,
               (i.channel IN ('PHONE', 'CHAT') AND NOT i.abandoned AND i.wait_seconds <= 300)::int AS answered_within_300,
               (i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned)::int AS handled,
               (i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.transfers > 0)::int AS handled_transferred,
               (i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.outcome = 'resolved' AND i.transfers = 0 AND NOT i.followed_by_assisted_within_7_days)::int AS handled_first_contact_resolved,
               (i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.handle_seconds IS NOT NULL)::int AS handled_timed,
               CASE WHEN i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.handle_seconds IS NOT NULL THEN i.handle_seconds ELSE 0 END AS handle_sum,
               CASE WHEN i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.handle_seconds IS NOT NULL THEN i.handle_seconds::bigint * i.handle_seconds ELSE 0 END AS handle_squares,
               (i.channel IN ('WEB_SELF_SERVICE', 'IVR', 'SMS') AND i.customer_id IS NOT NULL)::int AS self_service_known,
               (i.channel IN ('WEB_SELF_SERVICE', 'IVR', 'SMS') AND i.customer_id IS NOT NULL AND NOT i.followed_by_assisted_within_24_hours)::int AS self_service_contained
          FROM fresh i
        UNION ALL
        SELECT (i.started_at AT TIME ZONE zone)::date, i.org_unit_id, i.channel, i.agent_id, i.topic_id,
               0 AS interactions,
               0 AS queued,
               0 AS queued_abandoned,
               0 AS answered_timed,
               0 AS answered_wait_sum,
               0 AS answered_wait_squares,
               0 AS answered_within_10,
               0 AS answered_within_15,
               0 AS answered_within_20,
               0 AS answered_within_30,
               0 AS answered_within_45,
               0 AS answered_within_60,
               0 AS answered_within_90,
               0 AS answered_within_120,
               0 AS answered_within_180,
               0 AS answered_within_300,
               0 AS handled,
               0 AS handled_transferred,
               -(i.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL') AND NOT i.abandoned AND i.outcome = 'resolved' AND i.transfers = 0 AND NOT i.was_followed_7)::int AS handled_first_contact_resolved,
               0 AS handled_timed,
               0 AS handle_sum,
               0 AS handle_squares,
               0 AS self_service_known,
               -(i.channel IN ('WEB_SELF_SERVICE', 'IVR', 'SMS') AND NOT i.was_followed_24 AND i.followed_by_assisted_within_24_hours)::int AS self_service_contained
          FROM changed i
    ), cells_written AS (
    INSERT INTO metric_daily_cells AS r (day, org_unit_id, channel, agent_id, topic_id, interactions, queued, queued_abandoned, answered_timed, answered_wait_sum, answered_wait_squares, answered_within_10, answered_within_15, answered_within_20, answered_within_30, answered_within_45, answered_within_60, answered_within_90, answered_within_120, answered_within_180, answered_within_300, handled, handled_transferred, handled_first_contact_resolved, handled_timed, handle_sum, handle_squares, self_service_known, self_service_contained)
    SELECT day, org_unit_id, channel, agent_id, topic_id, coalesce(sum(interactions), 0)::bigint, coalesce(sum(queued), 0)::bigint, coalesce(sum(queued_abandoned), 0)::bigint, coalesce(sum(answered_timed), 0)::bigint, coalesce(sum(answered_wait_sum), 0)::bigint, coalesce(sum(answered_wait_squares), 0)::bigint, coalesce(sum(answered_within_10), 0)::bigint, coalesce(sum(answered_within_15), 0)::bigint, coalesce(sum(answered_within_20), 0)::bigint, coalesce(sum(answered_within_30), 0)::bigint, coalesce(sum(answered_within_45), 0)::bigint, coalesce(sum(answered_within_60), 0)::bigint, coalesce(sum(answered_within_90), 0)::bigint, coalesce(sum(answered_within_120), 0)::bigint, coalesce(sum(answered_within_180), 0)::bigint, coalesce(sum(answered_within_300), 0)::bigint, coalesce(sum(handled), 0)::bigint, coalesce(sum(handled_transferred), 0)::bigint, coalesce(sum(handled_first_contact_resolved), 0)::bigint, coalesce(sum(handled_timed), 0)::bigint, coalesce(sum(handle_sum), 0)::bigint, coalesce(sum(handle_squares), 0)::bigint, coalesce(sum(self_service_known), 0)::bigint, coalesce(sum(self_service_contained), 0)::bigint
      FROM delta GROUP BY day, org_unit_id, channel, agent_id, topic_id ORDER BY day, org_unit_id, channel, agent_id, topic_id
    ON CONFLICT (day, org_unit_id, channel, agent_id, topic_id) DO UPDATE SET
        interactions = r.interactions + excluded.interactions,
        queued = r.queued + excluded.queued,
        queued_abandoned = r.queued_abandoned + excluded.queued_abandoned,
        answered_timed = r.answered_timed + excluded.answered_timed,
        answered_wait_sum = r.answered_wait_sum + excluded.answered_wait_sum,
        answered_wait_squares = r.answered_wait_squares + excluded.answered_wait_squares,
        answered_within_10 = r.answered_within_10 + excluded.answered_within_10,
        answered_within_15 = r.answered_within_15 + excluded.answered_within_15,
        answered_within_20 = r.answered_within_20 + excluded.answered_within_20,
        answered_within_30 = r.answered_within_30 + excluded.answered_within_30,
        answered_within_45 = r.answered_within_45 + excluded.answered_within_45,
        answered_within_60 = r.answered_within_60 + excluded.answered_within_60,
        answered_within_90 = r.answered_within_90 + excluded.answered_within_90,
        answered_within_120 = r.answered_within_120 + excluded.answered_within_120,
        answered_within_180 = r.answered_within_180 + excluded.answered_within_180,
        answered_within_300 = r.answered_within_300 + excluded.answered_within_300,
        handled = r.handled + excluded.handled,
        handled_transferred = r.handled_transferred + excluded.handled_transferred,
        handled_first_contact_resolved = r.handled_first_contact_resolved + excluded.handled_first_contact_resolved,
        handled_timed = r.handled_timed + excluded.handled_timed,
        handle_sum = r.handle_sum + excluded.handle_sum,
        handle_squares = r.handle_squares + excluded.handle_squares,
        self_service_known = r.self_service_known + excluded.self_service_known,
        self_service_contained = r.self_service_contained + excluded.self_service_contained
)
INSERT INTO metric_daily_units AS r (day, org_unit_id, channel, interactions, queued, queued_abandoned, answered_timed, answered_wait_sum, answered_wait_squares, answered_within_10, answered_within_15, answered_within_20, answered_within_30, answered_within_45, answered_within_60, answered_within_90, answered_within_120, answered_within_180, answered_within_300, handled, handled_transferred, handled_first_contact_resolved, handled_timed, handle_sum, handle_squares, self_service_known, self_service_contained)
    SELECT day, org_unit_id, channel, coalesce(sum(interactions), 0)::bigint, coalesce(sum(queued), 0)::bigint, coalesce(sum(queued_abandoned), 0)::bigint, coalesce(sum(answered_timed), 0)::bigint, coalesce(sum(answered_wait_sum), 0)::bigint, coalesce(sum(answered_wait_squares), 0)::bigint, coalesce(sum(answered_within_10), 0)::bigint, coalesce(sum(answered_within_15), 0)::bigint, coalesce(sum(answered_within_20), 0)::bigint, coalesce(sum(answered_within_30), 0)::bigint, coalesce(sum(answered_within_45), 0)::bigint, coalesce(sum(answered_within_60), 0)::bigint, coalesce(sum(answered_within_90), 0)::bigint, coalesce(sum(answered_within_120), 0)::bigint, coalesce(sum(answered_within_180), 0)::bigint, coalesce(sum(answered_within_300), 0)::bigint, coalesce(sum(handled), 0)::bigint, coalesce(sum(handled_transferred), 0)::bigint, coalesce(sum(handled_first_contact_resolved), 0)::bigint, coalesce(sum(handled_timed), 0)::bigint, coalesce(sum(handle_sum), 0)::bigint, coalesce(sum(handle_squares), 0)::bigint, coalesce(sum(self_service_known), 0)::bigint, coalesce(sum(self_service_contained), 0)::bigint
      FROM delta GROUP BY day, org_unit_id, channel ORDER BY day, org_unit_id, channel
    ON CONFLICT (day, org_unit_id, channel) DO UPDATE SET
        interactions = r.interactions + excluded.interactions,
        queued = r.queued + excluded.queued,
        queued_abandoned = r.queued_abandoned + excluded.queued_abandoned,
        answered_timed = r.answered_timed + excluded.answered_timed,
        answered_wait_sum = r.answered_wait_sum + excluded.answered_wait_sum,
        answered_wait_squares = r.answered_wait_squares + excluded.answered_wait_squares,
        answered_within_10 = r.answered_within_10 + excluded.answered_within_10,
        answered_within_15 = r.answered_within_15 + excluded.answered_within_15,
        answered_within_20 = r.answered_within_20 + excluded.answered_within_20,
        answered_within_30 = r.answered_within_30 + excluded.answered_within_30,
        answered_within_45 = r.answered_within_45 + excluded.answered_within_45,
        answered_within_60 = r.answered_within_60 + excluded.answered_within_60,
        answered_within_90 = r.answered_within_90 + excluded.answered_within_90,
        answered_within_120 = r.answered_within_120 + excluded.answered_within_120,
        answered_within_180 = r.answered_within_180 + excluded.answered_within_180,
        answered_within_300 = r.answered_within_300 + excluded.answered_within_300,
        handled = r.handled + excluded.handled,
        handled_transferred = r.handled_transferred + excluded.handled_transferred,
        handled_first_contact_resolved = r.handled_first_contact_resolved + excluded.handled_first_contact_resolved,
        handled_timed = r.handled_timed + excluded.handled_timed,
        handle_sum = r.handle_sum + excluded.handle_sum,
        handle_squares = r.handle_squares + excluded.handle_squares,
        self_service_known = r.self_service_known + excluded.self_service_known,
        self_service_contained = r.self_service_contained + excluded.self_service_contained;
    RETURN NULL;
END $$;
CREATE TRIGGER interactions_maintain_metrics AFTER INSERT ON interactions
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION interactions_after_insert();

-- Responses add their answers to their interaction's cell; the first response of a kind for an
-- interaction also answers that interaction's invitations of the kind.
CREATE FUNCTION survey_responses_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone TEXT;
BEGIN
    PERFORM metric_lock();
    SELECT time_zone INTO zone FROM metric_settings;
    WITH first_answers AS (
        SELECT DISTINCT n.interaction_id, n.kind
          FROM inserted n
         WHERE NOT EXISTS (SELECT 1 FROM survey_responses earlier
                            WHERE earlier.interaction_id = n.interaction_id
                              AND earlier.kind = n.kind
                              AND NOT EXISTS (SELECT 1 FROM inserted other WHERE other.id = earlier.id))
    ), per_interaction AS (
        SELECT n.interaction_id,
               count(n.satisfaction) AS satisfaction_answers,
               count(*) FILTER (WHERE n.satisfaction >= 4) AS satisfaction_favourable,
               count(n.trust) AS trust_answers,
               count(*) FILTER (WHERE n.trust >= 4) AS trust_favourable,
               count(n.effectiveness) AS effectiveness_answers,
               count(*) FILTER (WHERE n.effectiveness >= 4) AS effectiveness_favourable,
               count(n.ease) AS ease_answers,
               count(*) FILTER (WHERE n.ease >= 4) AS ease_favourable,
               count(n.efficiency) AS efficiency_answers,
               count(*) FILTER (WHERE n.efficiency >= 4) AS efficiency_favourable,
               count(n.transparency) AS transparency_answers,
               count(*) FILTER (WHERE n.transparency >= 4) AS transparency_favourable,
               count(n.helpfulness) AS helpfulness_answers,
               count(*) FILTER (WHERE n.helpfulness >= 4) AS helpfulness_favourable,
               count(n.resolved) AS resolved_answers,
               count(*) FILTER (WHERE n.resolved) AS resolved_yes,
               0 AS invitations_answered
          FROM inserted n
         GROUP BY n.interaction_id
        UNION ALL
        SELECT v.interaction_id,
               0 AS satisfaction_answers,
               0 AS satisfaction_favourable,
               0 AS trust_answers,
               0 AS trust_favourable,
               0 AS effectiveness_answers,
               0 AS effectiveness_favourable,
               0 AS ease_answers,
               0 AS ease_favourable,
               0 AS efficiency_answers,
               0 AS efficiency_favourable,
               0 AS transparency_answers,
               0 AS transparency_favourable,
               0 AS helpfulness_answers,
               0 AS helpfulness_favourable,
               0 AS resolved_answers,
               0 AS resolved_yes,
               count(*) AS invitations_answered
          FROM survey_invitations v
          JOIN first_answers f ON f.interaction_id = v.interaction_id AND f.kind = v.kind
         GROUP BY v.interaction_id
    ), delta AS (
        SELECT (i.started_at AT TIME ZONE zone)::date AS day, i.org_unit_id, i.channel, i.agent_id, i.topic_id,
               p.satisfaction_answers,
               p.satisfaction_favourable,
               p.trust_answers,
               p.trust_favourable,
               p.effectiveness_answers,
               p.effectiveness_favourable,
               p.ease_answers,
               p.ease_favourable,
               p.efficiency_answers,
               p.efficiency_favourable,
               p.transparency_answers,
               p.transparency_favourable,
               p.helpfulness_answers,
               p.helpfulness_favourable,
               p.resolved_answers,
               p.resolved_yes,
               p.invitations_answered
          FROM per_interaction p
          JOIN interactions i ON i.id = p.interaction_id
    ), cells_written AS (
    INSERT INTO metric_daily_cells AS r (day, org_unit_id, channel, agent_id, topic_id, satisfaction_answers, satisfaction_favourable, trust_answers, trust_favourable, effectiveness_answers, effectiveness_favourable, ease_answers, ease_favourable, efficiency_answers, efficiency_favourable, transparency_answers, transparency_favourable, helpfulness_answers, helpfulness_favourable, resolved_answers, resolved_yes, invitations_answered)
    SELECT day, org_unit_id, channel, agent_id, topic_id, coalesce(sum(satisfaction_answers), 0)::bigint, coalesce(sum(satisfaction_favourable), 0)::bigint, coalesce(sum(trust_answers), 0)::bigint, coalesce(sum(trust_favourable), 0)::bigint, coalesce(sum(effectiveness_answers), 0)::bigint, coalesce(sum(effectiveness_favourable), 0)::bigint, coalesce(sum(ease_answers), 0)::bigint, coalesce(sum(ease_favourable), 0)::bigint, coalesce(sum(efficiency_answers), 0)::bigint, coalesce(sum(efficiency_favourable), 0)::bigint, coalesce(sum(transparency_answers), 0)::bigint, coalesce(sum(transparency_favourable), 0)::bigint, coalesce(sum(helpfulness_answers), 0)::bigint, coalesce(sum(helpfulness_favourable), 0)::bigint, coalesce(sum(resolved_answers), 0)::bigint, coalesce(sum(resolved_yes), 0)::bigint, coalesce(sum(invitations_answered), 0)::bigint
      FROM delta GROUP BY day, org_unit_id, channel, agent_id, topic_id ORDER BY day, org_unit_id, channel, agent_id, topic_id
    ON CONFLICT (day, org_unit_id, channel, agent_id, topic_id) DO UPDATE SET
        satisfaction_answers = r.satisfaction_answers + excluded.satisfaction_answers,
        satisfaction_favourable = r.satisfaction_favourable + excluded.satisfaction_favourable,
        trust_answers = r.trust_answers + excluded.trust_answers,
        trust_favourable = r.trust_favourable + excluded.trust_favourable,
        effectiveness_answers = r.effectiveness_answers + excluded.effectiveness_answers,
        effectiveness_favourable = r.effectiveness_favourable + excluded.effectiveness_favourable,
        ease_answers = r.ease_answers + excluded.ease_answers,
        ease_favourable = r.ease_favourable + excluded.ease_favourable,
        efficiency_answers = r.efficiency_answers + excluded.efficiency_answers,
        efficiency_favourable = r.efficiency_favourable + excluded.efficiency_favourable,
        transparency_answers = r.transparency_answers + excluded.transparency_answers,
        transparency_favourable = r.transparency_favourable + excluded.transparency_favourable,
        helpfulness_answers = r.helpfulness_answers + excluded.helpfulness_answers,
        helpfulness_favourable = r.helpfulness_favourable + excluded.helpfulness_favourable,
        resolved_answers = r.resolved_answers + excluded.resolved_answers,
        resolved_yes = r.resolved_yes + excluded.resolved_yes,
        invitations_answered = r.invitations_answered + excluded.invitations_answered
)
INSERT INTO metric_daily_units AS r (day, org_unit_id, channel, satisfaction_answers, satisfaction_favourable, trust_answers, trust_favourable, effectiveness_answers, effectiveness_favourable, ease_answers, ease_favourable, efficiency_answers, efficiency_favourable, transparency_answers, transparency_favourable, helpfulness_answers, helpfulness_favourable, resolved_answers, resolved_yes, invitations_answered)
    SELECT day, org_unit_id, channel, coalesce(sum(satisfaction_answers), 0)::bigint, coalesce(sum(satisfaction_favourable), 0)::bigint, coalesce(sum(trust_answers), 0)::bigint, coalesce(sum(trust_favourable), 0)::bigint, coalesce(sum(effectiveness_answers), 0)::bigint, coalesce(sum(effectiveness_favourable), 0)::bigint, coalesce(sum(ease_answers), 0)::bigint, coalesce(sum(ease_favourable), 0)::bigint, coalesce(sum(efficiency_answers), 0)::bigint, coalesce(sum(efficiency_favourable), 0)::bigint, coalesce(sum(transparency_answers), 0)::bigint, coalesce(sum(transparency_favourable), 0)::bigint, coalesce(sum(helpfulness_answers), 0)::bigint, coalesce(sum(helpfulness_favourable), 0)::bigint, coalesce(sum(resolved_answers), 0)::bigint, coalesce(sum(resolved_yes), 0)::bigint, coalesce(sum(invitations_answered), 0)::bigint
      FROM delta GROUP BY day, org_unit_id, channel ORDER BY day, org_unit_id, channel
    ON CONFLICT (day, org_unit_id, channel) DO UPDATE SET
        satisfaction_answers = r.satisfaction_answers + excluded.satisfaction_answers,
        satisfaction_favourable = r.satisfaction_favourable + excluded.satisfaction_favourable,
        trust_answers = r.trust_answers + excluded.trust_answers,
        trust_favourable = r.trust_favourable + excluded.trust_favourable,
        effectiveness_answers = r.effectiveness_answers + excluded.effectiveness_answers,
        effectiveness_favourable = r.effectiveness_favourable + excluded.effectiveness_favourable,
        ease_answers = r.ease_answers + excluded.ease_answers,
        ease_favourable = r.ease_favourable + excluded.ease_favourable,
        efficiency_answers = r.efficiency_answers + excluded.efficiency_answers,
        efficiency_favourable = r.efficiency_favourable + excluded.efficiency_favourable,
        transparency_answers = r.transparency_answers + excluded.transparency_answers,
        transparency_favourable = r.transparency_favourable + excluded.transparency_favourable,
        helpfulness_answers = r.helpfulness_answers + excluded.helpfulness_answers,
        helpfulness_favourable = r.helpfulness_favourable + excluded.helpfulness_favourable,
        resolved_answers = r.resolved_answers + excluded.resolved_answers,
        resolved_yes = r.resolved_yes + excluded.resolved_yes,
        invitations_answered = r.invitations_answered + excluded.invitations_answered;
    RETURN NULL;
END $$;
CREATE TRIGGER survey_responses_maintain_metrics AFTER INSERT ON survey_responses
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION survey_responses_after_insert();

-- Invitations count in their interaction's cell, answered when a response of their kind exists.
CREATE FUNCTION survey_invitations_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone TEXT;
BEGIN
    PERFORM metric_lock();
    SELECT time_zone INTO zone FROM metric_settings;
    WITH delta AS (
        SELECT (i.started_at AT TIME ZONE zone)::date AS day, i.org_unit_id, i.channel, i.agent_id, i.topic_id,
               1 AS invitations,
               EXISTS (SELECT 1 FROM survey_responses r
                        WHERE r.interaction_id = n.interaction_id AND r.kind = n.kind)::int AS invitations_answered
          FROM inserted n
          JOIN interactions i ON i.id = n.interaction_id
    ), cells_written AS (
    INSERT INTO metric_daily_cells AS r (day, org_unit_id, channel, agent_id, topic_id, invitations, invitations_answered)
    SELECT day, org_unit_id, channel, agent_id, topic_id, coalesce(sum(invitations), 0)::bigint, coalesce(sum(invitations_answered), 0)::bigint
      FROM delta GROUP BY day, org_unit_id, channel, agent_id, topic_id ORDER BY day, org_unit_id, channel, agent_id, topic_id
    ON CONFLICT (day, org_unit_id, channel, agent_id, topic_id) DO UPDATE SET
        invitations = r.invitations + excluded.invitations,
        invitations_answered = r.invitations_answered + excluded.invitations_answered
)
INSERT INTO metric_daily_units AS r (day, org_unit_id, channel, invitations, invitations_answered)
    SELECT day, org_unit_id, channel, coalesce(sum(invitations), 0)::bigint, coalesce(sum(invitations_answered), 0)::bigint
      FROM delta GROUP BY day, org_unit_id, channel ORDER BY day, org_unit_id, channel
    ON CONFLICT (day, org_unit_id, channel) DO UPDATE SET
        invitations = r.invitations + excluded.invitations,
        invitations_answered = r.invitations_answered + excluded.invitations_answered;
    RETURN NULL;
END $$;
CREATE TRIGGER survey_invitations_maintain_metrics AFTER INSERT ON survey_invitations
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION survey_invitations_after_insert();

-- Recomputes every fact and both rollups from the records, in the time zone of metric_settings.
-- Run by this migration and by the application when REPORTING_TZ changes.
CREATE FUNCTION metric_rollup_rebuild() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    zone TEXT;
BEGIN
    PERFORM metric_lock();
    SELECT time_zone INTO zone FROM metric_settings;
    UPDATE interactions e
       SET followed_by_assisted_within_7_days = f.within_7_days,
           followed_by_assisted_within_24_hours = f.within_24_hours
      FROM (SELECT i.id,
                   EXISTS (SELECT 1 FROM interactions x
                            WHERE x.customer_id = i.customer_id
                              AND x.topic_id IS NOT DISTINCT FROM i.topic_id
                              AND x.started_at > i.started_at
                              AND x.started_at <= i.started_at + interval '168 hours'
                              AND x.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL')) AS within_7_days,
                   EXISTS (SELECT 1 FROM interactions x
                            WHERE x.customer_id = i.customer_id
                              AND x.topic_id IS NOT DISTINCT FROM i.topic_id
                              AND x.started_at > i.started_at
                              AND x.started_at <= i.started_at + interval '24 hours'
                              AND x.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL')) AS within_24_hours
              FROM interactions i
             WHERE i.customer_id IS NOT NULL) f
     WHERE e.id = f.id
       AND (e.followed_by_assisted_within_7_days, e.followed_by_assisted_within_24_hours)
           IS DISTINCT FROM (f.within_7_days, f.within_24_hours);
    DELETE FROM metric_daily_cells;
    DELETE FROM metric_daily_units;
    INSERT INTO metric_daily_cells (day, org_unit_id, channel, agent_id, topic_id,
        interactions,
        queued,
        queued_abandoned,
        answered_timed,
        answered_wait_sum,
        answered_wait_squares,
        answered_within_10,
        answered_within_15,
        answered_within_20,
        answered_within_30,
        answered_within_45,
        answered_within_60,
        answered_within_90,
        answered_within_120,
        answered_within_180,
        answered_within_300,
        handled,
        handled_transferred,
        handled_first_contact_resolved,
        handled_timed,
        handle_sum,
        handle_squares,
        self_service_known,
        self_service_contained,
        satisfaction_answers,
        satisfaction_favourable,
        trust_answers,
        trust_favourable,
        effectiveness_answers,
        effectiveness_favourable,
        ease_answers,
        ease_favourable,
        efficiency_answers,
        efficiency_favourable,
        transparency_answers,
        transparency_favourable,
        helpfulness_answers,
        helpfulness_favourable,
        resolved_answers,
        resolved_yes,
        invitations,
        invitations_answered)
    SELECT (i.started_at AT TIME ZONE zone)::date, i.org_unit_id, i.channel, i.agent_id, i.topic_id,
        sum(i.interactions),
        sum(i.queued),
        sum(i.queued_abandoned),
        sum(i.answered_timed),
        sum(i.answered_wait_sum),
        sum(i.answered_wait_squares),
        sum(i.answered_within_10),
        sum(i.answered_within_15),
        sum(i.answered_within_20),
        sum(i.answered_within_30),
        sum(i.answered_within_45),
        sum(i.answered_within_60),
        sum(i.answered_within_90),
        sum(i.answered_within_120),
        sum(i.answered_within_180),
        sum(i.answered_within_300),
        sum(i.handled),
        sum(i.handled_transferred),
        sum(i.handled_first_contact_resolved),
        sum(i.handled_timed),
        sum(i.handle_sum),
        sum(i.handle_squares),
        sum(i.self_service_known),
        sum(i.self_service_contained),
        coalesce(sum(s.satisfaction_answers), 0),
        coalesce(sum(s.satisfaction_favourable), 0),
        coalesce(sum(s.trust_answers), 0),
        coalesce(sum(s.trust_favourable), 0),
        coalesce(sum(s.effectiveness_answers), 0),
        coalesce(sum(s.effectiveness_favourable), 0),
        coalesce(sum(s.ease_answers), 0),
        coalesce(sum(s.ease_favourable), 0),
        coalesce(sum(s.efficiency_answers), 0),
        coalesce(sum(s.efficiency_favourable), 0),
        coalesce(sum(s.transparency_answers), 0),
        coalesce(sum(s.transparency_favourable), 0),
        coalesce(sum(s.helpfulness_answers), 0),
        coalesce(sum(s.helpfulness_favourable), 0),
        coalesce(sum(s.resolved_answers), 0),
        coalesce(sum(s.resolved_yes), 0),
        coalesce(sum(s.invitations), 0),
        coalesce(sum(s.invitations_answered), 0)
      FROM interaction_measures i
      LEFT JOIN interaction_survey_measures s ON s.interaction_id = i.id
     GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO metric_daily_units (day, org_unit_id, channel,
        interactions,
        queued,
        queued_abandoned,
        answered_timed,
        answered_wait_sum,
        answered_wait_squares,
        answered_within_10,
        answered_within_15,
        answered_within_20,
        answered_within_30,
        answered_within_45,
        answered_within_60,
        answered_within_90,
        answered_within_120,
        answered_within_180,
        answered_within_300,
        handled,
        handled_transferred,
        handled_first_contact_resolved,
        handled_timed,
        handle_sum,
        handle_squares,
        self_service_known,
        self_service_contained,
        satisfaction_answers,
        satisfaction_favourable,
        trust_answers,
        trust_favourable,
        effectiveness_answers,
        effectiveness_favourable,
        ease_answers,
        ease_favourable,
        efficiency_answers,
        efficiency_favourable,
        transparency_answers,
        transparency_favourable,
        helpfulness_answers,
        helpfulness_favourable,
        resolved_answers,
        resolved_yes,
        invitations,
        invitations_answered)
    SELECT day, org_unit_id, channel,
        sum(interactions),
        sum(queued),
        sum(queued_abandoned),
        sum(answered_timed),
        sum(answered_wait_sum),
        sum(answered_wait_squares),
        sum(answered_within_10),
        sum(answered_within_15),
        sum(answered_within_20),
        sum(answered_within_30),
        sum(answered_within_45),
        sum(answered_within_60),
        sum(answered_within_90),
        sum(answered_within_120),
        sum(answered_within_180),
        sum(answered_within_300),
        sum(handled),
        sum(handled_transferred),
        sum(handled_first_contact_resolved),
        sum(handled_timed),
        sum(handle_sum),
        sum(handle_squares),
        sum(self_service_known),
        sum(self_service_contained),
        sum(satisfaction_answers),
        sum(satisfaction_favourable),
        sum(trust_answers),
        sum(trust_favourable),
        sum(effectiveness_answers),
        sum(effectiveness_favourable),
        sum(ease_answers),
        sum(ease_favourable),
        sum(efficiency_answers),
        sum(efficiency_favourable),
        sum(transparency_answers),
        sum(transparency_favourable),
        sum(helpfulness_answers),
        sum(helpfulness_favourable),
        sum(resolved_answers),
        sum(resolved_yes),
        sum(invitations),
        sum(invitations_answered)
      FROM metric_daily_cells
     GROUP BY 1, 2, 3;
END $$;
SELECT metric_rollup_rebuild();
