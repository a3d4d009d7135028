-- Retention (issue 15). Pruning deletes per-user rows; what happened stays.
--
-- campaign_counts holds the counts of a campaign's deleted messages by
-- segment, language and state: a campaign's counts are those of its
-- remaining messages plus these.
CREATE TABLE campaign_counts (
	campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
	segment     TEXT NOT NULL,
	lang        TEXT NOT NULL,
	state       TEXT NOT NULL,
	n           INTEGER NOT NULL,
	PRIMARY KEY (campaign_id, segment, lang, state)
);

-- When a campaign's messages were deleted (retention.messages), 0 = never.
ALTER TABLE campaigns ADD COLUMN pruned_at INTEGER NOT NULL DEFAULT 0;

-- Users the directory sync removed, and when: their messages are deleted
-- retention.removed_users later. The sync deletes the user, phones and
-- methods at once; the triggers keep the mark without the sync knowing.
CREATE TABLE removed_users (
	id         TEXT PRIMARY KEY,
	removed_at INTEGER NOT NULL
);
CREATE TRIGGER users_removed AFTER DELETE ON users BEGIN
	INSERT OR REPLACE INTO removed_users (id, removed_at)
	VALUES (old.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER users_returned AFTER INSERT ON users BEGIN
	DELETE FROM removed_users WHERE id = new.id;
END;
-- Users removed before this migration left no mark: their messages count
-- as removed now.
INSERT INTO removed_users (id, removed_at)
SELECT DISTINCT user_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
FROM messages WHERE user_id NOT IN (SELECT id FROM users);
