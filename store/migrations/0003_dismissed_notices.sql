-- An unconfirmed outage notice that was withdrawn, or followed by a
-- recovery notice before it was confirmed, is dismissed: it can no longer
-- open an incident.
ALTER TABLE notices ADD COLUMN dismissed INTEGER NOT NULL DEFAULT 0;
