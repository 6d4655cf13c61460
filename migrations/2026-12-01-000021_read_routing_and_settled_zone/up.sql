-- Read routing and one reporting time zone for every server process on the database.
--
-- * caller_writes: the primary's WAL position after each caller's latest write (bytes since
--   0/0). The session check reads it on the primary; a replica that has not replayed that far
--   yet does not serve the caller's reads, so a caller always sees their own writes, whichever
--   server process they reach next.
-- * metric_settings.zone_settled: once a server has adopted REPORTING_TZ for the rollups (or
--   the database already holds records), a server configured with another zone refuses to
--   start instead of rebuilding under the others; `bac-metrics migrate` changes it on purpose.

CREATE TABLE caller_writes (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id),
    lsn         BIGINT NOT NULL CHECK (lsn >= 0),
    written_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE metric_settings ADD COLUMN zone_settled BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE metric_settings
   SET zone_settled = EXISTS (SELECT 1 FROM interactions) OR EXISTS (SELECT 1 FROM survey_invitations);
