-- The conversation archive (ARCHIVE): one row per version of each message that crossed the desk.
-- Without ARCHIVE nothing is written here.

CREATE TABLE archive (
    -- Ids keep ascending in the order records were written, even after pruning.
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT  NOT NULL,
    -- Who wrote it: 'user', 'operator' or 'host'.
    origin      TEXT    NOT NULL,
    -- Its id where it was written (the user's chat, or the backend group for an operator's).
    message_id  BIGINT  NOT NULL,
    -- 0 for the message as sent, the edit's Unix time for an edit.
    edit        BIGINT  NOT NULL,
    -- Unix seconds it was written (or edited).
    time        BIGINT  NOT NULL,
    kind        TEXT    NOT NULL,
    text        TEXT,
    -- The formatting of `text`, as a JSON array.
    entities    TEXT    NOT NULL,
    file_id     TEXT,
    reply_to    BIGINT,
    media_group TEXT,
    -- A record written again (an update handled again after a crash) is kept once.
    UNIQUE (user_id, origin, message_id, edit)
);

CREATE INDEX archive_by_user ON archive (user_id, id);
CREATE INDEX archive_by_time ON archive (time);
