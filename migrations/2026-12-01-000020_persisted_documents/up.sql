-- Persisted GraphQL documents (src/records/documents.rs), shared by every server process.
--
-- A document is addressed by the SHA-256 of its exact text (lowercase hex), which the table
-- itself checks, so a row can never serve text other than what its hash names.
--   trusted = true:  registered by an administrator (`bac-metrics documents add`); in
--                    allow-list mode only these run, limited to `roles` when that is set.
--   trusted = false: an automatic persisted query an authenticated caller registered (Apollo's
--                    protocol); bounded in number, the oldest dropped first, never audited.
CREATE TABLE persisted_documents (
    sha256          TEXT PRIMARY KEY
                    CHECK (sha256 ~ '^[0-9a-f]{64}$'
                           AND sha256 = encode(sha256(convert_to(body, 'UTF8')), 'hex')),
    body            TEXT NOT NULL,
    operation_names TEXT[] NOT NULL DEFAULT '{}',
    trusted         BOOLEAN NOT NULL,
    roles           TEXT[]
                    CHECK (roles IS NULL OR (cardinality(roles) > 0 AND roles <@
                           ARRAY['ingest', 'agent', 'supervisor', 'analyst', 'auditor', 'admin'])),
    registered_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    registered_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (trusted OR roles IS NULL)
);

-- Finding the oldest automatic registrations when the cap is reached.
CREATE INDEX persisted_documents_automatic_age_idx
    ON persisted_documents (registered_at DESC, sha256) WHERE NOT trusted;
