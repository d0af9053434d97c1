-- When the desk first met each user (Unix seconds), for /export's first contact. The desk's
-- upsert (hotline_commit) never names the column: a new row takes its first last_active, by
-- this trigger, and an update leaves it. Rows from before it start from what the row knew
-- the earliest.
ALTER TABLE conversations ADD COLUMN first_seen BIGINT NOT NULL DEFAULT 0;
UPDATE conversations SET first_seen = LEAST(status_since, last_active);

CREATE FUNCTION hotline_first_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.first_seen = 0 THEN
        NEW.first_seen := NEW.last_active;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER conversations_first_seen BEFORE INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION hotline_first_seen();
