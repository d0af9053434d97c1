-- Hotline's desk state (PostgreSQL). Forward-only: never edit a released migration, add a new one.
-- Tables are created unqualified: they land in the first schema of `search_path`.

-- One row per user the desk has met.
CREATE TABLE conversations (
    user_id         BIGINT  PRIMARY KEY,
    -- The user's current forum topic; a topic belongs to one user at most (the backstop for
    -- "one topic per user" when two replicas race).
    topic_id        BIGINT  UNIQUE,
    -- inactive | user_answered | support_answered | closed
    status          TEXT    NOT NULL,
    -- Unix seconds when `status` last changed (auto-close counts from here).
    status_since    BIGINT  NOT NULL,
    blocked         BOOLEAN NOT NULL,
    banned          BOOLEAN NOT NULL,
    first_name      TEXT    NOT NULL,
    last_name       TEXT,
    username        TEXT,
    language_code   TEXT,
    start_payload   TEXT,
    topic_name      TEXT,
    welcome_pending BOOLEAN NOT NULL,
    -- Message ids not relayed yet (context before activation), oldest first.
    pending         BIGINT[] NOT NULL DEFAULT '{}'
);

-- Auto-close scans "support answered" conversations by age.
CREATE INDEX conversations_autoclose ON conversations (status, status_since);

-- Pairs of a message in a user's private chat and its counterpart in the backend group.
CREATE TABLE links (
    user_id       BIGINT NOT NULL,
    user_message  BIGINT NOT NULL,
    topic_message BIGINT NOT NULL,
    -- user | operator | host
    origin        TEXT   NOT NULL,
    PRIMARY KEY (user_id, user_message)
);

CREATE UNIQUE INDEX links_topic_message ON links (topic_message);

-- Keys of events already handled (idempotency across restarts).
CREATE TABLE processed (
    kind        TEXT   NOT NULL,
    chat        BIGINT NOT NULL,
    message     BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    -- Unix seconds when recorded, so old keys can be pruned.
    recorded_at BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::bigint),
    PRIMARY KEY (kind, chat, message, version)
);

CREATE INDEX processed_recorded_at ON processed (recorded_at);
