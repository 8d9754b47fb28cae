-- The subscriber's side (issue 13): preferences a member sets on the web, consent records, changes
-- made on the web, daily alerts, and tokens stored hashed only.

-- Subscribers, rebuilt: the raw token goes (links carry tokens whose SHA-256 is stored; the tokens
-- mailed before this migration keep working through legacy_token_hash); company, pause and
-- frequency arrive. Only confirmed addresses are ever in this table (sign-ups wait in the journal).
CREATE TABLE subscribers_005 (
    id                 BIGINT PRIMARY KEY DEFAULT nextval('subscribers_id_seq'),
    email              VARCHAR NOT NULL UNIQUE,        -- lower-cased
    name               VARCHAR,
    company            VARCHAR,
    language           VARCHAR NOT NULL DEFAULT 'ja',
    organisations      VARCHAR[],                      -- empty = all
    categories         VARCHAR[],                      -- empty = all
    eligible_only      BOOLEAN NOT NULL DEFAULT FALSE, -- only calls a Japanese company may apply to
    frequency          VARCHAR NOT NULL DEFAULT 'weekly', -- weekly | weekly+daily (also the daily alert)
    paused             BOOLEAN NOT NULL DEFAULT FALSE, -- no mail until resumed
    legacy_token_hash  VARCHAR,                        -- sha256 of the token mailed before migration 005
    active             BOOLEAN NOT NULL DEFAULT TRUE,  -- false: unsubscribed (the row and its consents stay)
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ,
    unsubscribed_at    TIMESTAMPTZ
);
INSERT INTO subscribers_005 (id, email, name, language, organisations, categories, eligible_only,
                             legacy_token_hash, active, created_at, unsubscribed_at)
SELECT id, email, name, language, organisations, categories, coalesce(eligible_only, FALSE),
       sha256(token), active, created_at, unsubscribed_at
FROM subscribers;
DROP TABLE subscribers;
ALTER TABLE subscribers_005 RENAME TO subscribers;

-- When and how each address agreed to receive the digest, and when it withdrew (特定電子メール法).
-- Never deleted, also after unsubscribing.
CREATE SEQUENCE consents_id_seq;
CREATE TABLE consents (
    id               BIGINT PRIMARY KEY DEFAULT nextval('consents_id_seq'),
    email            VARCHAR NOT NULL,
    event            VARCHAR NOT NULL,  -- given | withdrawn
    event_at         TIMESTAMPTZ NOT NULL,
    method           VARCHAR NOT NULL,  -- web-form | csv-import | staff-command | one-click | web-page | before-005
    wording_version  VARCHAR,           -- the sign-up form's consent wording (web-form)
    source           VARCHAR,           -- CSV: the declared source; staff: who ran the command
    detail           VARCHAR            -- web: when the form was sent and confirmed; CSV: the file
);
-- Addresses already on the list were added by staff before consent was recorded.
INSERT INTO consents (email, event, event_at, method, source)
SELECT email, 'given', created_at, 'before-005', 'on the list before consent records (added by staff)'
FROM subscribers;
INSERT INTO consents (email, event, event_at, method, source)
SELECT email, 'withdrawn', unsubscribed_at, 'before-005', 'unsubscribed before consent records'
FROM subscribers WHERE NOT active AND unsubscribed_at IS NOT NULL;

-- Changes members made on the web, as applied from the journal (journal.sqlite) by the runs; the
-- highest id is how far the warehouse has applied the journal.
CREATE TABLE web_changes (
    id          BIGINT PRIMARY KEY,     -- the journal's id
    changed_at  TIMESTAMPTZ NOT NULL,   -- when the web app answered
    email       VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,       -- subscribe | preferences | unsubscribe
    data        VARCHAR,                -- JSON
    applied_at  TIMESTAMPTZ NOT NULL
);

-- A digest is the weekly one or a short daily alert of new calls a Japanese company may apply to.
ALTER TABLE digests ADD COLUMN kind VARCHAR DEFAULT 'weekly';
UPDATE digests SET kind = 'weekly';

-- Staff look before members do (SPACEDIGEST_REVIEW_HOURS): members get a digest from release_at on,
-- unless staff hold it; items staff took out with `digest --exclude` stay out of files and mails.
ALTER TABLE digests ADD COLUMN release_at TIMESTAMPTZ;
ALTER TABLE digests ADD COLUMN held BOOLEAN DEFAULT FALSE;
ALTER TABLE digests ADD COLUMN excluded VARCHAR[];
