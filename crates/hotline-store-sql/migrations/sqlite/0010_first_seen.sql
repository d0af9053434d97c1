-- When the desk first met each user (Unix seconds), for /export's first contact. The desk's
-- upsert writes it when the row is new and never updates it; a row written without it (0)
-- takes its first last_active, by this trigger. Rows from before it start from what the row
-- knew the earliest.
ALTER TABLE conversations ADD COLUMN first_seen INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET first_seen = min(status_since, last_active);

CREATE TRIGGER conversations_first_seen AFTER INSERT ON conversations
    WHEN NEW.first_seen = 0
BEGIN
    UPDATE conversations SET first_seen = NEW.last_active WHERE user_id = NEW.user_id;
END;
