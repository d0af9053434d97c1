-- When each user last wrote (Unix seconds; the desk refreshes it at most hourly), for segments
-- such as `active:<30d`. Rows from before it start from their last status change.
ALTER TABLE conversations ADD COLUMN last_active BIGINT NOT NULL DEFAULT 0;
UPDATE conversations SET last_active = status_since;

-- hotline_commit with the conversation's last activity. A new overload beside the old one
-- (migration 0002), which a replica of the previous release keeps calling during an upgrade.
CREATE FUNCTION hotline_commit(
    c_present         BOOLEAN,
    c_user            BIGINT,
    c_topic           BIGINT,
    c_status          TEXT,
    c_status_since    BIGINT,
    c_blocked         BOOLEAN,
    c_banned          BOOLEAN,
    c_first_name      TEXT,
    c_last_name       TEXT,
    c_username        TEXT,
    c_language_code   TEXT,
    c_start_payload   TEXT,
    c_topic_name      TEXT,
    c_welcome_pending BOOLEAN,
    c_pending         BIGINT[],
    c_last_active     BIGINT,
    l_user            BIGINT[],
    l_user_message    BIGINT[],
    l_topic_message   BIGINT[],
    l_origin          TEXT[],
    p_kind            TEXT,
    p_chat            BIGINT,
    p_message         BIGINT,
    p_version         BIGINT
) RETURNS VOID
LANGUAGE plpgsql
AS $$
BEGIN
    IF c_present THEN
        INSERT INTO conversations (user_id, topic_id, status, status_since, blocked, banned,
            first_name, last_name, username, language_code, start_payload, topic_name,
            welcome_pending, pending, last_active)
        VALUES (c_user, c_topic, c_status, c_status_since, c_blocked, c_banned,
            c_first_name, c_last_name, c_username, c_language_code, c_start_payload,
            c_topic_name, c_welcome_pending, c_pending, c_last_active)
        ON CONFLICT (user_id) DO UPDATE SET
            topic_id = excluded.topic_id, status = excluded.status,
            status_since = excluded.status_since, blocked = excluded.blocked,
            banned = excluded.banned, first_name = excluded.first_name,
            last_name = excluded.last_name, username = excluded.username,
            language_code = excluded.language_code, start_payload = excluded.start_payload,
            topic_name = excluded.topic_name, welcome_pending = excluded.welcome_pending,
            pending = excluded.pending, last_active = excluded.last_active;
    END IF;
    -- A new link replaces whatever it clashes with on either side (last write wins).
    FOR i IN 1 .. coalesce(array_length(l_user, 1), 0) LOOP
        DELETE FROM links
        WHERE topic_message = l_topic_message[i]
          AND NOT (user_id = l_user[i] AND user_message = l_user_message[i]);
        INSERT INTO links (user_id, user_message, topic_message, origin)
        VALUES (l_user[i], l_user_message[i], l_topic_message[i], l_origin[i])
        ON CONFLICT (user_id, user_message) DO UPDATE
        SET topic_message = excluded.topic_message, origin = excluded.origin;
    END LOOP;
    IF p_kind IS NOT NULL THEN
        INSERT INTO processed (kind, chat, message, version)
        VALUES (p_kind, p_chat, p_message, p_version)
        ON CONFLICT DO NOTHING;
    END IF;
END
$$;
