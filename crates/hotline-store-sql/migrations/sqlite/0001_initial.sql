-- Hotline's desk state (SQLite). Forward-only: never edit a released migration, add a new one.

-- One row per user the desk has met.
CREATE TABLE conversations (
    user_id         INTEGER PRIMARY KEY,
    -- The user's current forum topic; a topic belongs to one user at most (the backstop for
    -- "one topic per user" when two writers race).
    topic_id        INTEGER UNIQUE,
    -- inactive | user_answered | support_answered | closed
    status          TEXT    NOT NULL,
    -- Unix seconds when `status` last changed (auto-close counts from here).
    status_since    INTEGER NOT NULL,
    blocked         INTEGER NOT NULL CHECK (blocked IN (0, 1)),
    banned          INTEGER NOT NULL CHECK (banned IN (0, 1)),
    first_name      TEXT    NOT NULL,
    last_name       TEXT,
    username        TEXT,
    language_code   TEXT,
    start_payload   TEXT,
    topic_name      TEXT,
    welcome_pending INTEGER NOT NULL CHECK (welcome_pending IN (0, 1)),
    -- JSON array of message ids not relayed yet (context before activation), oldest first.
    pending         TEXT    NOT NULL DEFAULT '[]'
) STRICT;

-- Auto-close scans "support answered" conversations by age.
CREATE INDEX conversations_autoclose ON conversations (status, status_since);

-- Pairs of a message in a user's private chat and its counterpart in the backend group.
CREATE TABLE links (
    user_id       INTEGER NOT NULL,
    user_message  INTEGER NOT NULL,
    topic_message INTEGER NOT NULL,
    -- user | operator | host
    origin        TEXT    NOT NULL,
    PRIMARY KEY (user_id, user_message)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX links_topic_message ON links (topic_message);

-- Keys of events already handled (idempotency across restarts).
CREATE TABLE processed (
    kind        TEXT    NOT NULL,
    chat        INTEGER NOT NULL,
    message     INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    -- Unix seconds when recorded, so old keys can be pruned.
    recorded_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
    PRIMARY KEY (kind, chat, message, version)
) STRICT, WITHOUT ROWID;

CREATE INDEX processed_recorded_at ON processed (recorded_at);
