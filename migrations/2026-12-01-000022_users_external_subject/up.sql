-- The subject (`sub` claim) an external identity provider gives a staff member, for providers
-- whose tokens name users by a stable opaque id rather than an email (OIDC_USER_CLAIM=sub).
-- One account per subject; most accounts have none.
ALTER TABLE users ADD COLUMN external_subject TEXT
    CHECK (external_subject IS NULL OR (length(external_subject) BETWEEN 1 AND 255));
CREATE UNIQUE INDEX users_external_subject_key ON users (external_subject)
    WHERE external_subject IS NOT NULL;
