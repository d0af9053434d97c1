-- The webhook outbox: events waiting to be posted to WEBHOOKS endpoints, removed once delivered.
-- Each (endpoint, lane) is one queue, delivered in id order.

CREATE TABLE webhook_outbox (
    id              BIGSERIAL PRIMARY KEY,
    endpoint        TEXT    NOT NULL,
    -- The conversation (user id) the entry is ordered in.
    lane            BIGINT  NOT NULL,
    -- The event's id: the same when an event is produced again, so receivers drop repeats.
    event_id        TEXT    NOT NULL,
    -- The event as JSON text.
    payload         TEXT    NOT NULL,
    -- Unix seconds it was written.
    created         BIGINT  NOT NULL,
    -- Failed deliveries so far (0 ..= 2^32 - 1).
    attempts        BIGINT  NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 4294967295),
    -- Unix milliseconds before which it is not tried again.
    next_attempt_ms BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT
);

CREATE INDEX webhook_outbox_queues ON webhook_outbox (endpoint, lane, id);
