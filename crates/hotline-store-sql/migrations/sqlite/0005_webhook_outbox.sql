-- The webhook outbox: events waiting to be posted to WEBHOOKS endpoints, removed once delivered.
-- Each (endpoint, lane) is one queue, delivered in id order.

CREATE TABLE webhook_outbox (
    -- AUTOINCREMENT: ids keep ascending in the order entries were written, even after the
    -- newest was delivered and removed.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint        TEXT    NOT NULL,
    -- The conversation (user id) the entry is ordered in.
    lane            INTEGER NOT NULL,
    -- The event's id: the same when an event is produced again, so receivers drop repeats.
    event_id        TEXT    NOT NULL,
    -- The event as JSON text.
    payload         TEXT    NOT NULL,
    -- Unix seconds it was written.
    created         INTEGER NOT NULL,
    -- Failed deliveries so far (0 ..= 2^32 - 1).
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 4294967295),
    -- Unix milliseconds before which it is not tried again.
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
) STRICT;

CREATE INDEX webhook_outbox_queues ON webhook_outbox (endpoint, lane, id);
