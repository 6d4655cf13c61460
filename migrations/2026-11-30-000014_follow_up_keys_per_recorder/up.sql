-- Idempotency keys of survey responses are the sender's: an import's `(source, external_id)`,
-- or, for a follow-up assessment a staff member records, that staff member's own. Keying
-- follow-ups by their recorder means one person's key never collides with (or reveals) another
-- person's. Imported responses (no recorder) keep one shared namespace.
ALTER TABLE survey_responses DROP CONSTRAINT survey_responses_source_external_id_key;
CREATE UNIQUE INDEX survey_responses_key ON survey_responses
    ((COALESCE(recorded_by, 0)), source, external_id);
