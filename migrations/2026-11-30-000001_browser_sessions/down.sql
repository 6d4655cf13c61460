DROP TABLE session_cookies;
DELETE FROM sessions WHERE kind = 'browser';
ALTER TABLE sessions DROP CONSTRAINT sessions_kind_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_kind_check CHECK (kind IN ('login', 'minted'));
