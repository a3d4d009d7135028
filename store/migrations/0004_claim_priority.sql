-- Who first when the relay is the bottleneck: messages are claimed by
-- priority (fixed when planned, see store.priority), then due time. Admin
-- alerts; outage mails of national incidents (phone-only users, then
-- other-phone, then app); of regional ones; resolved follow-ups; then
-- preparedness. (Rows planned before are taken as national: this runs
-- before incidents have a scope.)
ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 50;
UPDATE messages SET priority = (CASE kind
		WHEN 'admin' THEN 0
		WHEN 'outage' THEN 10
		WHEN 'resolved' THEN 30
		ELSE 50 END)
	+ (CASE WHEN kind IN ('outage', 'resolved') THEN (CASE segment WHEN 'phone-only' THEN 0 WHEN 'other-phone' THEN 1 ELSE 2 END) ELSE 0 END)
	WHERE state IN ('pending', 'sending');
CREATE INDEX messages_claim ON messages(priority, next_at, id) WHERE state = 'pending';
