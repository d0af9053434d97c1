-- The users a segment can hold at all (not banned, not blocking the bot), by id: a segment of a
-- rare tag probes it once per tagged user, and the whole base reads it alone, never the
-- table's wide rows (index-only, once vacuum has marked the pages visible).
CREATE INDEX conversations_reachable ON conversations (user_id) WHERE NOT banned AND NOT blocked;
