-- The update log: every update fetched once from the Bot API, kept until every registered
-- consumer confirmed it or it is older than the retention (24 h), and where each consumer
-- stands. Added to databases created by 0001 and 0002 as they open.

CREATE TABLE update_log (
    -- Assigned by the store from `update_log_head`: 1, 2, 3, ... in the order appended, never
    -- reused (the head keeps counting after the rows are pruned), at most 2^31 - 1.
    id          INTEGER PRIMARY KEY,
    -- Telegram's `update_id`: an update Telegram sends again is recognised here, not appended
    -- twice.
    upstream_id INTEGER NOT NULL UNIQUE,
    -- The update as Telegram sent it, JSON text, byte for byte.
    payload     TEXT    NOT NULL,
    -- Unix seconds when it was appended (pruning by retention).
    received    INTEGER NOT NULL
) STRICT;

CREATE INDEX update_log_received ON update_log (received);

-- Where the log stands: one row, kept when every update is pruned, so ids are never reused.
CREATE TABLE update_log_head (
    one              INTEGER PRIMARY KEY CHECK (one = 1),
    -- The last id assigned (0 before the first append).
    last_id          INTEGER NOT NULL CHECK (last_id BETWEEN 0 AND 2147483647),
    -- Telegram's id of the last update appended; NULL before the first append.
    last_upstream_id INTEGER
) STRICT;

INSERT INTO update_log_head (one, last_id, last_upstream_id) VALUES (1, 0, NULL);

-- The readers of the log (`desk`, `bot`, ...).
CREATE TABLE log_consumers (
    name      TEXT    NOT NULL PRIMARY KEY,
    -- The last log id it confirmed (never moves back).
    confirmed INTEGER NOT NULL,
    -- What the consumer keeps between runs, JSON text, opaque to the store.
    settings  TEXT
) STRICT;
