SELECT pg_advisory_xact_lock(727274001);
DROP TRIGGER survey_invitations_maintain_metrics ON survey_invitations;
DROP TRIGGER survey_responses_maintain_metrics ON survey_responses;
DROP TRIGGER interactions_maintain_metrics ON interactions;
DROP FUNCTION metric_rollup_rebuild();
DROP FUNCTION survey_invitations_after_insert();
DROP FUNCTION survey_responses_after_insert();
DROP FUNCTION interactions_after_insert();
DROP FUNCTION metric_lock();
DROP FUNCTION metric_topic_ids(TEXT[]);
DROP FUNCTION metric_org_unit_subtrees(TEXT[]);
DROP VIEW interaction_survey_measures;
DROP VIEW interaction_measures;
DROP TABLE metric_daily_units;
DROP TABLE metric_daily_cells;
DROP TRIGGER survey_invitations_measured_fields_fixed ON survey_invitations;
DROP TRIGGER survey_responses_measured_fields_fixed ON survey_responses;
DROP TRIGGER interactions_measured_fields_fixed ON interactions;
DROP FUNCTION refuse_measured_change();
DROP TRIGGER org_units_no_delete ON org_units;
DROP TRIGGER org_units_no_truncate ON org_units;
DROP TRIGGER users_no_delete ON users;
DROP TRIGGER users_no_truncate ON users;
DROP TRIGGER topics_no_delete ON topics;
DROP TRIGGER topics_no_truncate ON topics;
DROP TRIGGER customers_no_delete ON customers;
DROP TRIGGER customers_no_truncate ON customers;
DROP TRIGGER interactions_no_delete ON interactions;
DROP TRIGGER interactions_no_truncate ON interactions;
DROP TRIGGER survey_invitations_no_delete ON survey_invitations;
DROP TRIGGER survey_invitations_no_truncate ON survey_invitations;
DROP TRIGGER survey_responses_no_delete ON survey_responses;
DROP TRIGGER survey_responses_no_truncate ON survey_responses;
DROP FUNCTION refuse_record_deletion();
ALTER TABLE interactions
    ADD CONSTRAINT interactions_org_unit_id_fkey FOREIGN KEY (org_unit_id) REFERENCES org_units (id),
    ADD CONSTRAINT interactions_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES users (id),
    ADD CONSTRAINT interactions_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id),
    ADD CONSTRAINT interactions_topic_id_fkey FOREIGN KEY (topic_id) REFERENCES topics (id);
CREATE INDEX interactions_channel_started_idx ON interactions (channel, started_at);
CREATE INDEX interactions_outcome_started_idx ON interactions (outcome, started_at) WHERE outcome IS NOT NULL;
ALTER TABLE interactions RESET (fillfactor);
ALTER TABLE interactions
    DROP COLUMN followed_by_assisted_within_7_days,
    DROP COLUMN followed_by_assisted_within_24_hours;
DROP TABLE metric_settings;
