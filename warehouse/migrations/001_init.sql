-- The warehouse's tables. Names are a contract with staff: see README "Querying the warehouse".
-- All timestamps are TIMESTAMPTZ stored in UTC.

CREATE TABLE sources (
    id                    VARCHAR PRIMARY KEY,
    organisation          VARCHAR NOT NULL,
    name                  VARCHAR,
    country               VARCHAR,
    kind                  VARCHAR NOT NULL,          -- feed | html | json
    url                   VARCHAR NOT NULL,          -- as written in the catalog
    current_url           VARCHAR,                   -- after a permanent redirect; NULL = url
    language              VARCHAR,
    enabled               BOOLEAN NOT NULL DEFAULT TRUE,
    in_catalog            BOOLEAN NOT NULL DEFAULT TRUE,
    expected_period_days  INTEGER,
    etag                  VARCHAR,                   -- validators, updated only on a 200
    last_modified         VARCHAR,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    last_attempt_at       TIMESTAMPTZ,
    last_success_at       TIMESTAMPTZ,
    last_new_item_at      TIMESTAMPTZ,
    next_check_at         TIMESTAMPTZ,
    last_error            VARCHAR,
    disabled_reason       VARCHAR,                   -- e.g. 410 Gone
    updated_at            TIMESTAMPTZ
);

CREATE SEQUENCE fetches_id_seq;
CREATE TABLE fetches (
    id             BIGINT PRIMARY KEY DEFAULT nextval('fetches_id_seq'),
    run_id         VARCHAR,
    source_id      VARCHAR NOT NULL,
    url            VARCHAR NOT NULL,
    final_url      VARCHAR,
    role           VARCHAR NOT NULL DEFAULT 'listing', -- listing | page (2, 3 ...) | detail
    started_at     TIMESTAMPTZ NOT NULL,
    status         VARCHAR NOT NULL,                 -- ok | not_modified | error | skipped
    http_status    INTEGER,
    etag           VARCHAR,
    last_modified  VARCHAR,
    content_type   VARCHAR,
    bytes          BIGINT,
    items_found    INTEGER,
    items_new      INTEGER,
    error          VARCHAR,
    duration_ms    DOUBLE,
    attempts       INTEGER,
    capture        VARCHAR                           -- content address of the stored raw body
);

CREATE TABLE items (
    id                   VARCHAR PRIMARY KEY,
    title                VARCHAR NOT NULL,
    url                  VARCHAR,
    summary              VARCHAR,
    organisation         VARCHAR NOT NULL,
    source_id            VARCHAR NOT NULL,           -- the source that first carried it
    guid                 VARCHAR,
    title_key            VARCHAR,                    -- normalized title, for duplicates across sources
    published_at         TIMESTAMPTZ NOT NULL,
    published_estimated  BOOLEAN NOT NULL DEFAULT FALSE,
    first_seen_at        TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    language             VARCHAR,
    category             VARCHAR,
    category_rule        VARCHAR,
    deadline             DATE,
    deadline_kind        VARCHAR,                    -- date | rolling | none
    opening_date         DATE,
    status               VARCHAR,                    -- open | closed | forthcoming | unknown (at load time)
    japan_relevant       BOOLEAN NOT NULL DEFAULT FALSE,
    japan_reason         VARCHAR,
    content_hash         VARCHAR NOT NULL
);

CREATE TABLE item_sources (
    source_id      VARCHAR NOT NULL,
    entry_key      VARCHAR NOT NULL,                 -- identity of the entry within the source
    item_id        VARCHAR NOT NULL,
    guid           VARCHAR,
    url            VARCHAR,
    content_hash   VARCHAR,                          -- this source's last version, to detect its edits
    first_seen_at  TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source_id, entry_key)
);

CREATE SEQUENCE item_revisions_id_seq;
CREATE TABLE item_revisions (
    id              BIGINT PRIMARY KEY DEFAULT nextval('item_revisions_id_seq'),
    item_id         VARCHAR NOT NULL,
    source_id       VARCHAR,
    changed_at      TIMESTAMPTZ NOT NULL,
    changed_fields  VARCHAR,                          -- e.g. 'title,deadline'
    old_title       VARCHAR,
    new_title       VARCHAR,
    old_summary     VARCHAR,
    new_summary     VARCHAR,
    old_url         VARCHAR,
    new_url         VARCHAR,
    old_deadline    DATE,
    new_deadline    DATE,
    old_content_hash VARCHAR,
    new_content_hash VARCHAR
);

CREATE TABLE runs (
    id              VARCHAR PRIMARY KEY,
    kind            VARCHAR NOT NULL,                -- collect | digest | send | run | reprocess
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR,                         -- ok | partial | failed
    sources_ok      INTEGER,
    sources_failed  INTEGER,
    items_new       INTEGER,
    message         VARCHAR
);

CREATE SEQUENCE digests_id_seq;
CREATE TABLE digests (
    id              BIGINT PRIMARY KEY DEFAULT nextval('digests_id_seq'),
    label           VARCHAR NOT NULL UNIQUE,         -- '2024-W47' or the window's cutoff
    window_start    TIMESTAMPTZ NOT NULL,
    window_end      TIMESTAMPTZ NOT NULL,            -- the cutoff: the next digest starts here
    created_at      TIMESTAMPTZ NOT NULL,
    item_count      INTEGER NOT NULL,
    paths           VARCHAR                          -- JSON: {"ja": {"md": ..., "html": ..., "txt": ...}, "en": ...}
);

CREATE SEQUENCE subscribers_id_seq;
CREATE TABLE subscribers (
    id               BIGINT PRIMARY KEY DEFAULT nextval('subscribers_id_seq'),
    email            VARCHAR NOT NULL UNIQUE,        -- lower-cased
    name             VARCHAR,
    language         VARCHAR NOT NULL DEFAULT 'ja',
    organisations    VARCHAR[],                      -- empty = all
    categories       VARCHAR[],                      -- empty = all
    token            VARCHAR NOT NULL UNIQUE,        -- for the unsubscribe link
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMPTZ NOT NULL,
    unsubscribed_at  TIMESTAMPTZ
);

CREATE TABLE deliveries (
    digest_id      BIGINT NOT NULL,
    subscriber_id  BIGINT NOT NULL,
    status         VARCHAR NOT NULL,                 -- sent | rejected
    delivered_at   TIMESTAMPTZ NOT NULL,
    message_id     VARCHAR,
    error          VARCHAR,
    PRIMARY KEY (digest_id, subscriber_id)
);
