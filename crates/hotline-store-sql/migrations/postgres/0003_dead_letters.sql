-- Dead letters: updates set aside after every attempt to handle them failed, kept until an
-- operator retries or drops them. Added to databases created by 0001 and 0002 as they connect.

CREATE TABLE dead_letters (
    -- From a sequence: ids are never reused, so an operator's `drop <id>` can never hit a
    -- later record.
    id           BIGSERIAL PRIMARY KEY,
    -- What identifies the update at its source (`telegram:<update_id>`); setting the same
    -- update aside again adds to its record (ON CONFLICT (key)).
    key          TEXT   NOT NULL UNIQUE,
    -- The user the update concerns, when it decoded far enough to say.
    user_id      BIGINT,
    -- The update as JSON text (kept as written, byte for byte: not jsonb).
    payload      TEXT   NOT NULL,
    -- The last error, with its chain of sources.
    error        TEXT   NOT NULL,
    -- Attempts in all (0 ..= 2^32 - 1).
    attempts     BIGINT NOT NULL CHECK (attempts BETWEEN 0 AND 4294967295),
    -- Unix seconds of the first and the last failed attempt.
    first_failed BIGINT NOT NULL,
    last_failed  BIGINT NOT NULL
);
