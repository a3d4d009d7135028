-- Issue 9: an incident's notice thread is known by its key (link or GUID)
-- and by its title without status marks (【復旧】, （X月X日X時現在）), so
-- that a notice edited in place, or republished under a new link with the
-- same title, updates the incident it opened.
ALTER TABLE incidents ADD COLUMN thread_title TEXT NOT NULL DEFAULT '';
ALTER TABLE notices ADD COLUMN thread_title TEXT NOT NULL DEFAULT '';
CREATE INDEX notices_key ON notices(carrier_id, key);
-- Whether the latest notice of the thread names data service only (no
-- voice, no SMS): such a campaign is held for approval.
ALTER TABLE incidents ADD COLUMN data_only INTEGER NOT NULL DEFAULT 0;
