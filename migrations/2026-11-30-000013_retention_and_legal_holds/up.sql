-- Records retention and legal holds (issue 13).
--
-- Retention erases personal fields once their period has passed, and nothing else: the measured
-- columns stay fixed (migration 5), so the daily rollups and every metric stay exactly as they
-- were. This migration (1) marks what was erased, so an empty field under the records schedule
-- can be told from one never given; (2) narrows what may change on the rows retention touches:
-- a survey comment may be erased but never rewritten, and the identity and time columns of
-- survey records and the customer reference cannot change at all; (3) adds legal holds, which
-- retention skips until they are lifted.

-- (1) When retention erased the personal fields of a row (null: never erased).
ALTER TABLE customers ADD COLUMN contact_details_erased_at TIMESTAMPTZ;
ALTER TABLE survey_responses ADD COLUMN comment_erased_at TIMESTAMPTZ;
ALTER TABLE survey_invitations ADD COLUMN token_erased_at TIMESTAMPTZ;

-- (2) Columns that identify a record or date it cannot change once recorded. The trigger names
-- the columns in its arguments so the message says which rule was broken.
CREATE FUNCTION refuse_identity_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% of % cannot be changed once recorded', TG_ARGV[0], TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

-- The customer reference is what later contacts match on and what the pseudonym is computed
-- from; contact details may be updated (newer details arrive) and erased.
CREATE TRIGGER customers_reference_fixed BEFORE UPDATE OF customer_ref ON customers
    FOR EACH ROW WHEN (OLD.customer_ref IS DISTINCT FROM NEW.customer_ref)
    EXECUTE FUNCTION refuse_identity_change('customer_ref');
CREATE TRIGGER survey_responses_identity_fixed BEFORE UPDATE OF
    source, external_id, invitation_id, recorded_by, submitted_at ON survey_responses
    FOR EACH ROW WHEN ((OLD.source, OLD.external_id, OLD.invitation_id, OLD.recorded_by, OLD.submitted_at)
                       IS DISTINCT FROM
                       (NEW.source, NEW.external_id, NEW.invitation_id, NEW.recorded_by, NEW.submitted_at))
    EXECUTE FUNCTION refuse_identity_change('source, external_id, invitation_id, recorded_by and submitted_at');
CREATE TRIGGER survey_invitations_identity_fixed BEFORE UPDATE OF
    source, external_id ON survey_invitations
    FOR EACH ROW WHEN ((OLD.source, OLD.external_id) IS DISTINCT FROM (NEW.source, NEW.external_id))
    EXECUTE FUNCTION refuse_identity_change('source and external_id');

-- A comment is what the customer wrote: it may be erased (set to null, with its erasure time),
-- never replaced by other text, and an erasure is not undone.
CREATE FUNCTION survey_responses_comment_only_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.comment IS DISTINCT FROM OLD.comment AND NEW.comment IS NOT NULL THEN
        RAISE EXCEPTION 'a survey comment can be erased but not rewritten'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.comment_erased_at IS NOT NULL AND NEW.comment_erased_at IS DISTINCT FROM OLD.comment_erased_at THEN
        RAISE EXCEPTION 'a survey comment''s erasure cannot be undone'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER survey_responses_comment_only_erased BEFORE UPDATE OF comment, comment_erased_at
    ON survey_responses
    FOR EACH ROW EXECUTE FUNCTION survey_responses_comment_only_erased();

-- Links that are still usable or were used or expired lately: the invitation-token rule finds
-- its candidates without reading every invitation.
CREATE INDEX survey_invitations_token_held_idx ON survey_invitations (LEAST(responded_at, expires_at))
    WHERE token_hash IS NOT NULL;
-- Comments awaiting their period.
CREATE INDEX survey_responses_commented_idx ON survey_responses (submitted_at)
    WHERE comment IS NOT NULL;

-- (3) A legal hold preserves every record of an org unit (and its subtree), a customer, or one
-- interaction from retention until it is lifted. Holds are never deleted: lifting one records
-- who lifted it, when and why. The reason names the matter (a case or request number), not a
-- person: it is shown to auditors.
CREATE TABLE legal_holds (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_unit_id     BIGINT REFERENCES org_units (id),
    customer_id     BIGINT REFERENCES customers (id),
    interaction_id  BIGINT REFERENCES interactions (id),
    reason          TEXT NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    placed_by       BIGINT NOT NULL REFERENCES users (id),
    placed_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    lifted_by       BIGINT REFERENCES users (id),
    lifted_at       TIMESTAMPTZ,
    lift_reason     TEXT CHECK (length(btrim(lift_reason)) BETWEEN 1 AND 500),
    CONSTRAINT legal_holds_one_target CHECK (num_nonnulls(org_unit_id, customer_id, interaction_id) = 1),
    CONSTRAINT legal_holds_lift_complete CHECK (
        (lifted_at IS NULL AND lifted_by IS NULL AND lift_reason IS NULL)
        OR (lifted_at IS NOT NULL AND lifted_by IS NOT NULL AND lift_reason IS NOT NULL))
);
CREATE INDEX legal_holds_active_idx ON legal_holds (id) WHERE lifted_at IS NULL;
CREATE INDEX legal_holds_placed_at_idx ON legal_holds (placed_at, id);

CREATE TRIGGER legal_holds_no_delete BEFORE DELETE ON legal_holds
    FOR EACH ROW EXECUTE FUNCTION refuse_record_deletion();
CREATE TRIGGER legal_holds_no_truncate BEFORE TRUNCATE ON legal_holds
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_record_deletion();

-- The only change a hold accepts is being lifted, once.
CREATE FUNCTION legal_holds_only_lifted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.lifted_at IS NOT NULL
       OR (NEW.org_unit_id, NEW.customer_id, NEW.interaction_id, NEW.reason, NEW.placed_by, NEW.placed_at)
          IS DISTINCT FROM
          (OLD.org_unit_id, OLD.customer_id, OLD.interaction_id, OLD.reason, OLD.placed_by, OLD.placed_at)
    THEN
        RAISE EXCEPTION 'a legal hold can only be lifted, once'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER legal_holds_only_lifted BEFORE UPDATE ON legal_holds
    FOR EACH ROW EXECUTE FUNCTION legal_holds_only_lifted();
