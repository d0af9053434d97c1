-- Mailings (/send, Desk::broadcast): the job, and each recipient's delivery.

CREATE TABLE mailings (
    id            BIGSERIAL PRIMARY KEY,
    -- What is sent: hotline_core::MailingContent as JSON.
    content       TEXT   NOT NULL,
    segment       TEXT   NOT NULL,
    -- draft, running, paused, cancelled, finished.
    state         TEXT   NOT NULL,
    created       BIGINT NOT NULL,
    author        BIGINT,
    panel_chat    BIGINT,
    panel_message BIGINT,
    -- The desk sending it, and until when (one desk of several sends a mailing).
    runner        TEXT,
    lease_until   BIGINT
);

-- delivery: 0 pending, 1 sent, 2 failed, 3 blocked, 4 left (hotline_core::Delivery::code).
CREATE TABLE mailing_recipients (
    mailing  BIGINT   NOT NULL REFERENCES mailings (id),
    user_id  BIGINT   NOT NULL,
    delivery SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (mailing, user_id)
);

-- The mailer reads the pending ones in id order; sent ones leave the index.
CREATE INDEX mailing_recipients_pending ON mailing_recipients (mailing, user_id)
    WHERE delivery = 0;
