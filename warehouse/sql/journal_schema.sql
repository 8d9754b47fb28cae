-- The journal (SQLite, $SPACEDIGEST_HOME/journal.sqlite): what must be on disk at once, whoever holds
-- the warehouse. Times are ISO 8601 UTC text ('2026-12-03T07:56:39.123456+00:00'), which sorts as time.

-- What members did on the web, in the order the web app answered; applied to the warehouse by the
-- next writer (warehouse.journal.apply_changes), which records the ids it applied in web_changes.
CREATE TABLE IF NOT EXISTS changes (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    email  TEXT NOT NULL,
    kind   TEXT NOT NULL,   -- subscribe | preferences | unsubscribe
    data   TEXT NOT NULL    -- JSON
);
CREATE INDEX IF NOT EXISTS changes_by_email ON changes (email, id);

-- Tokens, as their SHA-256 only. mail: the links of one message; manage: the preferences link shown
-- after a confirmation; confirm: a sign-up waiting for confirmation (data: the form), once, 48 h.
CREATE TABLE IF NOT EXISTS tokens (
    hash        TEXT PRIMARY KEY,
    email       TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    used_at     TEXT,
    data        TEXT
);

-- Confirmation mails sent (rate limits per address and per client).
CREATE TABLE IF NOT EXISTS confirmation_mails (
    at      TEXT NOT NULL,
    email   TEXT NOT NULL,
    client  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS confirmation_mails_by_email ON confirmation_mails (email, at);
CREATE INDEX IF NOT EXISTS confirmation_mails_by_client ON confirmation_mails (client, at);

-- The delivery ledger: a send claims (digest, subscriber) before the message goes out and marks it
-- sent or rejected when the server answered; a claim whose lease ran out (or whose process is gone)
-- may be taken over. Final rows are copied into the warehouse's `deliveries` (moved = 1).
CREATE TABLE IF NOT EXISTS sends (
    digest_id      INTEGER NOT NULL,
    subscriber_id  INTEGER NOT NULL,
    state          TEXT NOT NULL,   -- claimed | sent | rejected
    owner          TEXT NOT NULL,   -- host/pid/process start of the send that claimed it
    lease_until    TEXT,
    at             TEXT NOT NULL,
    message_id     TEXT,
    error          TEXT,
    moved          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (digest_id, subscriber_id)
);
CREATE INDEX IF NOT EXISTS sends_to_move ON sends (moved, state);
