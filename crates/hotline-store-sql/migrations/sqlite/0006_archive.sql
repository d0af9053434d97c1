-- The conversation archive (ARCHIVE): one row per version of each message that crossed the desk.
-- Without ARCHIVE nothing is written here.

CREATE TABLE archive (
    -- AUTOINCREMENT: ids keep ascending in the order records were written, even after pruning.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL,
    -- Who wrote it: 'user', 'operator' or 'host'.
    origin      TEXT    NOT NULL,
    -- Its id where it was written (the user's chat, or the backend group for an operator's).
    message_id  INTEGER NOT NULL,
    -- 0 for the message as sent, the edit's Unix time for an edit.
    edit        INTEGER NOT NULL,
    -- Unix seconds it was written (or edited).
    time        INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    text        TEXT,
    -- The formatting of `text`, as a JSON array.
    entities    TEXT    NOT NULL,
    file_id     TEXT,
    reply_to    INTEGER,
    media_group TEXT,
    -- A record written again (an update handled again after a crash) is kept once.
    UNIQUE (user_id, origin, message_id, edit)
) STRICT;

CREATE INDEX archive_by_user ON archive (user_id, id);
CREATE INDEX archive_by_time ON archive (time);
