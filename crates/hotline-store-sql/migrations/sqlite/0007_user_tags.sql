-- Tags operators put on users (/mark): one row per (user, tag), in lower case.

CREATE TABLE user_tags (
    user_id INTEGER NOT NULL,
    tag     TEXT    NOT NULL,
    PRIMARY KEY (user_id, tag)
) STRICT, WITHOUT ROWID;

-- Segments select users by tag.
CREATE INDEX user_tags_by_tag ON user_tags (tag, user_id);
