-- carrierwatch schema, version 1.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- Polling state of each source (detector.State as JSON).
CREATE TABLE sources (
	id         TEXT PRIMARY KEY,
	carrier_id TEXT NOT NULL,
	url        TEXT NOT NULL,
	state      TEXT NOT NULL DEFAULT '{}',
	updated_at INTEGER NOT NULL
);

-- Every notice content ever seen, by source and content hash: the same
-- content is never a second signal.
CREATE TABLE notices (
	source_id    TEXT NOT NULL,
	hash         TEXT NOT NULL,
	key          TEXT NOT NULL,
	carrier_id   TEXT NOT NULL,
	verdict      TEXT NOT NULL,
	rule         TEXT NOT NULL,
	title        TEXT NOT NULL,
	link         TEXT NOT NULL,
	published_at INTEGER NOT NULL,
	seen_at      INTEGER NOT NULL,
	incident_id  INTEGER REFERENCES incidents(id),
	PRIMARY KEY (source_id, hash)
);

-- Consecutive polls that saw an outage signal with no incident open
-- (confirm_polls).
CREATE TABLE carrier_state (
	carrier_id   TEXT PRIMARY KEY,
	outage_polls INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE incidents (
	id          INTEGER PRIMARY KEY,
	carrier_id  TEXT NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
	title       TEXT NOT NULL,
	url         TEXT NOT NULL,
	note        TEXT NOT NULL,
	manual      INTEGER NOT NULL,
	opened_at   INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	resolved_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX incidents_one_open ON incidents(carrier_id) WHERE state = 'open';

CREATE TABLE incident_events (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL REFERENCES incidents(id),
	at          INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	verdict     TEXT NOT NULL,
	source_id   TEXT NOT NULL,
	title       TEXT NOT NULL,
	link        TEXT NOT NULL,
	rule        TEXT NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events(incident_id);

CREATE TABLE users (
	id                 TEXT PRIMARY KEY,
	upn                TEXT NOT NULL,
	display_name       TEXT NOT NULL,
	mail               TEXT NOT NULL,
	alternate_emails   TEXT NOT NULL,
	preferred_language TEXT NOT NULL,
	updated_at         INTEGER NOT NULL
);

CREATE TABLE phones (
	user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	position  INTEGER NOT NULL,
	type      TEXT NOT NULL,
	raw       TEXT NOT NULL,
	e164      TEXT NOT NULL,
	extension TEXT NOT NULL,
	PRIMARY KEY (user_id, position)
);

CREATE TABLE methods (
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name    TEXT NOT NULL,
	PRIMARY KEY (user_id, name)
);

CREATE TABLE directory_syncs (
	id          INTEGER PRIMARY KEY,
	started_at  INTEGER NOT NULL,
	finished_at INTEGER NOT NULL,
	ok          INTEGER NOT NULL,
	full        INTEGER NOT NULL,
	users       INTEGER NOT NULL,
	problems    INTEGER NOT NULL,
	error       TEXT NOT NULL
);

CREATE TABLE campaigns (
	id           INTEGER PRIMARY KEY,
	incident_id  INTEGER REFERENCES incidents(id),
	kind         TEXT NOT NULL,
	state        TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	approved_at  INTEGER NOT NULL DEFAULT 0,
	cancelled_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX campaigns_incident_kind ON campaigns(incident_id, kind) WHERE incident_id IS NOT NULL;

-- The outbox. dedupe_key makes planning idempotent: one message per
-- (incident, user, kind).
CREATE TABLE messages (
	id          INTEGER PRIMARY KEY,
	campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
	incident_id INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	segment     TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	lang        TEXT NOT NULL,
	addresses   TEXT NOT NULL,
	message_id  TEXT NOT NULL,
	dedupe_key  TEXT NOT NULL UNIQUE,
	state       TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	sent_at     INTEGER NOT NULL DEFAULT 0,
	data        BLOB NOT NULL
);
CREATE INDEX messages_sendable ON messages(state, next_at);
CREATE INDEX messages_campaign ON messages(campaign_id, state);
CREATE INDEX messages_user ON messages(user_id, kind);
