-- When each user last wrote (Unix seconds; the desk refreshes it at most hourly), for segments
-- such as `active:<30d`. Rows from before it start from their last status change.
ALTER TABLE conversations ADD COLUMN last_active INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET last_active = status_since;
