-- Admission control (issue 10): the counters behind every rate limit and sign-in throttle, kept in
-- PostgreSQL so that every server process on this database enforces one limit.
--
-- UNLOGGED: a counter is written on every authenticated request and is worthless after a crash,
-- so it skips the write-ahead log (and is not copied to streaming replicas, which never enforce
-- limits). No secondary index: updates stay HOT, and the table holds one row per active key.
CREATE UNLOGGED TABLE rate_limit_counters (
    -- What is counted: `session:<id>`, `survey:<address>`, `login:pair:<digest>`, …
    -- Account names are stored only as keyed digests, never as emails.
    key             TEXT PRIMARY KEY,
    -- Start of the current window (database clock, so every server agrees).
    window_start    TIMESTAMPTZ NOT NULL,
    hits            INTEGER NOT NULL CHECK (hits >= 0),
    -- Sign-in throttles: no attempt on this key is checked before this time.
    blocked_until   TIMESTAMPTZ,
    -- After this the row means nothing and may be deleted.
    expires_at      TIMESTAMPTZ NOT NULL
);
