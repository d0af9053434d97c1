-- The update log: every update fetched once from the Bot API, kept until every registered
-- consumer confirmed it or it is older than the retention (24 h), and where each consumer
-- stands. Added to databases created by 0001 to 0003 as they connect.

CREATE TABLE update_log (
    -- Assigned by `hotline_append_updates` from `update_log_head`: 1, 2, 3, ... in the order
    -- appended, with no gap even when replicas append at once, never reused, at most 2^31 - 1.
    id          BIGINT PRIMARY KEY,
    -- Telegram's `update_id`: an update Telegram sends again is recognised here, not appended
    -- twice.
    upstream_id BIGINT NOT NULL UNIQUE,
    -- The update as Telegram sent it, JSON text (kept as written, byte for byte: not jsonb).
    payload     TEXT   NOT NULL,
    -- Unix seconds when it was appended (pruning by retention).
    received    BIGINT NOT NULL
);

CREATE INDEX update_log_received ON update_log (received);

-- Where the log stands: one row, kept when every update is pruned, so ids are never reused.
-- Appenders lock it (FOR UPDATE) for the length of their transaction.
CREATE TABLE update_log_head (
    one              BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    -- The last id assigned (0 before the first append).
    last_id          BIGINT NOT NULL CHECK (last_id BETWEEN 0 AND 2147483647),
    -- Telegram's id of the last update appended; NULL before the first append.
    last_upstream_id BIGINT
);

INSERT INTO update_log_head (one, last_id, last_upstream_id) VALUES (TRUE, 0, NULL);

-- The readers of the log (`desk`, `bot`, ...).
CREATE TABLE log_consumers (
    name      TEXT   PRIMARY KEY,
    -- The last log id it confirmed (never moves back).
    confirmed BIGINT NOT NULL,
    -- What the consumer keeps between runs, JSON text, opaque to the store.
    settings  TEXT
);

-- Appends a batch in one round trip (one statement is one transaction): the updates whose
-- upstream id the log does not hold yet get the next ids, in the order given (the first of
-- an upstream id given twice); returns the log id of every update given, in order. Ids past
-- `max_id` raise an error, and the whole statement, so nothing is written. Tables are named
-- unqualified, so they resolve through the caller's search_path like every other query.
CREATE FUNCTION hotline_append_updates(
    u_upstream_id BIGINT[],
    u_payload     TEXT[],
    u_received    BIGINT,
    max_id        BIGINT
) RETURNS BIGINT[]
LANGUAGE plpgsql
AS $$
DECLARE
    head_id      BIGINT;
    new_last     BIGINT;
    new_upstream BIGINT;
    log_ids      BIGINT[];
BEGIN
    -- Appenders (replicas racing on one database) queue here until this transaction ends, so
    -- ids are handed out in order with no gap. Every statement below starts after the lock
    -- was granted, so it sees every update the appenders before this one committed.
    SELECT h.last_id INTO head_id FROM update_log_head h FOR UPDATE;
    WITH given AS (
        SELECT g.upstream_id, g.payload, g.ord
        FROM unnest(u_upstream_id, u_payload) WITH ORDINALITY AS g(upstream_id, payload, ord)
    ), kept AS (
        SELECT l.upstream_id, l.id
        FROM update_log l
        WHERE l.upstream_id IN (SELECT given.upstream_id FROM given)
    ), fresh AS (
        SELECT DISTINCT ON (given.upstream_id) given.upstream_id, given.payload, given.ord
        FROM given
        WHERE given.upstream_id NOT IN (SELECT kept.upstream_id FROM kept)
        ORDER BY given.upstream_id, given.ord
    ), numbered AS (
        SELECT head_id + row_number() OVER (ORDER BY fresh.ord) AS id,
               fresh.upstream_id, fresh.payload
        FROM fresh
    ), inserted AS (
        -- No ON CONFLICT: under the head's lock no other appender can add an upstream id
        -- between the look-up above and this insert; a clash would be refused whole.
        INSERT INTO update_log (id, upstream_id, payload, received)
        SELECT numbered.id, numbered.upstream_id, numbered.payload, u_received FROM numbered
        RETURNING update_log.id
    )
    SELECT coalesce(array_agg(coalesce(k.id, n.id) ORDER BY g.ord), '{}'),
           max(n.id),
           (array_agg(n.upstream_id ORDER BY n.id DESC) FILTER (WHERE n.id IS NOT NULL))[1]
    INTO log_ids, new_last, new_upstream
    FROM given g
    LEFT JOIN kept k ON k.upstream_id = g.upstream_id
    LEFT JOIN numbered n ON n.upstream_id = g.upstream_id;
    IF new_last IS NOT NULL THEN
        IF new_last > max_id THEN
            RAISE EXCEPTION 'the update log has used every id below 2^31 (last %, % more)',
                head_id, new_last - head_id
                USING ERRCODE = 'program_limit_exceeded';
        END IF;
        UPDATE update_log_head SET last_id = new_last, last_upstream_id = new_upstream;
    END IF;
    RETURN log_ids;
END
$$;
