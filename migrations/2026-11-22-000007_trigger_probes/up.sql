-- Faster fact maintenance on insert (issue 3's import rate, issue 4's seed rate).
--
-- The interactions trigger of the metrics rollup migration looked up the facts with joins that
-- the planner, misjudging the size of the transition table, ran as a sequential scan of all
-- interactions per statement: every import batch cost time in proportion to the table. The
-- lookups are now LATERAL probes of the (customer, topic, started_at) index, one per new
-- interaction, so a batch costs the same at any table size. The survey triggers had the same
-- flaw (a scan of all interactions, invitations or responses per statement) and get the same
-- cure. JIT compilation is off inside the triggers: the probes' row estimates push their cost
-- past the JIT threshold, and compiling costs far more than running them. What the triggers
-- compute is unchanged.

CREATE OR REPLACE FUNCTION interactions_after_insert() RETURNS trigger LANGUAGE plpgsql
    SET jit = off
AS $$
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
    WITH next_assisted AS (
        -- Each new interaction's first later assisted contact of the same customer and topic
        -- within 168 hours: one probe of the customer's index entries per new interaction.
        SELECT n.id, later.started_at <= n.started_at + interval '24 hours' AS within_24_hours
          FROM inserted n
          CROSS JOIN LATERAL (
                SELECT x.started_at
                  FROM interactions x
                 WHERE x.customer_id = n.customer_id
                   AND x.topic_id IS NOT DISTINCT FROM n.topic_id
                   AND x.started_at > n.started_at
                   AND x.started_at <= n.started_at + interval '168 hours'
                   AND x.channel IN ('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL')
                 ORDER BY x.started_at
                 LIMIT 1) later
         WHERE n.customer_id IS NOT NULL
    ), new_facts AS (
        UPDATE interactions e
           SET followed_by_assisted_within_7_days = TRUE,
               followed_by_assisted_within_24_hours = f.within_24_hours
          FROM next_assisted f
         WHERE e.id = f.id
           -- Few rows change: find them by id, never by scanning the table.
           AND e.id = ANY (ARRAY(SELECT id FROM next_assisted))
        RETURNING e.id, f.within_24_hours
    ), followed AS (
        -- Earlier interactions (not of this statement) that a new assisted one follows and
        -- whose facts can still change: again one probe per new interaction.
        SELECT e.id,
               bool_or(n.started_at <= e.started_at + interval '24 hours') AS within_24_hours,
               bool_and(e.followed_by_assisted_within_7_days) AS was_followed_7,
               bool_and(e.followed_by_assisted_within_24_hours) AS was_followed_24
          FROM inserted n
          CROSS JOIN LATERAL (
                SELECT x.id, x.started_at, x.followed_by_assisted_within_7_days,
                       x.followed_by_assisted_within_24_hours
                  FROM interactions x
                 WHERE x.customer_id = n.customer_id
                   AND x.topic_id IS NOT DISTINCT FROM n.topic_id
                   AND x.started_at < n.started_at
                   AND x.started_at >= n.started_at - interval '168 hours'
                   AND NOT (x.followed_by_assisted_within_7_days AND x.followed_by_assisted_within_24_hours)
                 OFFSET 0) e
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
           AND e.id = ANY (ARRAY(SELECT id FROM followed))
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

CREATE OR REPLACE FUNCTION survey_responses_after_insert() RETURNS trigger LANGUAGE plpgsql
    SET jit = off
AS $$
DECLARE
    zone TEXT;
BEGIN
    PERFORM metric_lock();
    SELECT time_zone INTO zone FROM metric_settings;
    WITH first_answers AS (
        -- An interaction's first response of a kind: every response of that kind for it is
        -- in this statement (one index probe per interaction and kind).
        SELECT n.interaction_id, n.kind
          FROM (SELECT interaction_id, kind, count(*) AS responses
                  FROM inserted GROUP BY interaction_id, kind) n
         WHERE (SELECT count(*) FROM survey_responses r
                 WHERE r.interaction_id = n.interaction_id AND r.kind = n.kind) = n.responses
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
          FROM first_answers f
          CROSS JOIN LATERAL (SELECT v.interaction_id FROM survey_invitations v
                               WHERE v.interaction_id = f.interaction_id AND v.kind = f.kind
                              OFFSET 0) v
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
          -- OFFSET 0 keeps this a probe by id (the planner would scan every interaction).
          CROSS JOIN LATERAL (SELECT * FROM interactions i WHERE i.id = p.interaction_id OFFSET 0) i
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

CREATE OR REPLACE FUNCTION survey_invitations_after_insert() RETURNS trigger LANGUAGE plpgsql
    SET jit = off
AS $$
DECLARE
    zone TEXT;
BEGIN
    PERFORM metric_lock();
    SELECT time_zone INTO zone FROM metric_settings;
    WITH delta AS (
        SELECT (i.started_at AT TIME ZONE zone)::date AS day, i.org_unit_id, i.channel, i.agent_id, i.topic_id,
               1 AS invitations,
               EXISTS (SELECT 1 FROM survey_responses r
                        WHERE r.interaction_id = n.interaction_id AND r.kind = n.kind
                        OFFSET 0)::int AS invitations_answered
          FROM inserted n
          -- OFFSET 0 keeps these probes by id and key (the planner would scan whole tables).
          CROSS JOIN LATERAL (SELECT * FROM interactions i WHERE i.id = n.interaction_id OFFSET 0) i
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
