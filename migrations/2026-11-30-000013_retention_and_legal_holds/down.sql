DROP TABLE legal_holds;
DROP FUNCTION legal_holds_only_lifted();

DROP INDEX survey_responses_commented_idx;
DROP INDEX survey_invitations_token_held_idx;

DROP TRIGGER survey_responses_comment_only_erased ON survey_responses;
DROP FUNCTION survey_responses_comment_only_erased();
DROP TRIGGER survey_invitations_identity_fixed ON survey_invitations;
DROP TRIGGER survey_responses_identity_fixed ON survey_responses;
DROP TRIGGER customers_reference_fixed ON customers;
DROP FUNCTION refuse_identity_change();

ALTER TABLE survey_invitations DROP COLUMN token_erased_at;
ALTER TABLE survey_responses DROP COLUMN comment_erased_at;
ALTER TABLE customers DROP COLUMN contact_details_erased_at;
