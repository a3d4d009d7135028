-- Issue 14: the self-service password reset e-mail of each user (Graph's
-- emailAuthenticationMethod), kept with the other MFA data (replaced by
-- every sync that carries complete auth data), and how a sync read the
-- methods: mode (registration_details | authentication_methods | '') and
-- why (the licence check's result).
CREATE TABLE reset_emails (
	user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	address TEXT NOT NULL
);
ALTER TABLE directory_syncs ADD COLUMN mode TEXT NOT NULL DEFAULT '';
ALTER TABLE directory_syncs ADD COLUMN mode_reason TEXT NOT NULL DEFAULT '';
