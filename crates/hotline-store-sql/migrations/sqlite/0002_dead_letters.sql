-- Dead letters: updates set aside after every attempt to handle them failed, kept until an
-- operator retries or drops them. Added to databases created by 0001 as they open.

CREATE TABLE dead_letters (
    -- AUTOINCREMENT: an id is never handed out twice, even after the newest record is removed,
    -- so an operator's `drop <id>` can never hit a later record that reused the id.
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- What identifies the update at its source (`telegram:<update_id>`); setting the same
    -- update aside again adds to its record.
    key          TEXT    NOT NULL UNIQUE,
    -- The user the update concerns, when it decoded far enough to say.
    user_id      INTEGER,
    -- The update as JSON text.
    payload      TEXT    NOT NULL,
    -- The last error, with its chain of sources.
    error        TEXT    NOT NULL,
    -- Attempts in all (0 ..= 2^32 - 1).
    attempts     INTEGER NOT NULL CHECK (attempts BETWEEN 0 AND 4294967295),
    -- Unix seconds of the first and the last failed attempt.
    first_failed INTEGER NOT NULL,
    last_failed  INTEGER NOT NULL
) STRICT;
