DROP INDEX survey_responses_key;
ALTER TABLE survey_responses ADD CONSTRAINT survey_responses_source_external_id_key
    UNIQUE (source, external_id);
