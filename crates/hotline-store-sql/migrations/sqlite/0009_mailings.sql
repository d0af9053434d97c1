-- Mailings (/send, Desk::broadcast): the job, and each recipient's delivery.

CREATE TABLE mailings (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- What is sent: hotline_core::MailingContent as JSON.
    content       TEXT    NOT NULL,
    segment       TEXT    NOT NULL,
    -- draft, running, paused, cancelled, finished.
    state         TEXT    NOT NULL,
    created       INTEGER NOT NULL,
    author        INTEGER,
    panel_chat    INTEGER,
    panel_message INTEGER,
    -- The desk sending it, and until when (one desk of several sends a mailing).
    runner        TEXT,
    lease_until   INTEGER
) STRICT;

-- delivery: 0 pending, 1 sent, 2 failed, 3 blocked, 4 left (hotline_core::Delivery::code).
CREATE TABLE mailing_recipients (
    mailing  INTEGER NOT NULL REFERENCES mailings (id),
    user_id  INTEGER NOT NULL,
    delivery INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailing, user_id)
) STRICT, WITHOUT ROWID;

-- The mailer reads the pending ones in id order; sent ones leave the index.
CREATE INDEX mailing_recipients_pending ON mailing_recipients (mailing, user_id)
    WHERE delivery = 0;
