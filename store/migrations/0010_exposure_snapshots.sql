-- Exposure measured after each successful directory sync: per carrier, the
-- users an outage would hit by what they are told (users without an
-- address to mail counted apart), and the preparedness campaign's
-- progress: phone-only users mailed so far, and how many of them have
-- since registered a way in without a phone.
CREATE TABLE exposure_snapshots (
	id          INTEGER PRIMARY KEY,
	taken_at    INTEGER NOT NULL,
	users       INTEGER NOT NULL,
	prep_mailed INTEGER NOT NULL,
	prep_registered INTEGER NOT NULL
);
CREATE TABLE exposure_carriers (
	snapshot_id INTEGER NOT NULL REFERENCES exposure_snapshots(id) ON DELETE CASCADE,
	carrier_id  TEXT NOT NULL,
	name        TEXT NOT NULL,
	app         INTEGER NOT NULL,
	other_phone INTEGER NOT NULL,
	phone_only  INTEGER NOT NULL,
	no_address  INTEGER NOT NULL,
	PRIMARY KEY (snapshot_id, carrier_id)
);
