-- Issue 9: an incident has a scope (national, or regional with the areas
-- the notice names), the carrier's stated start, whether the latest notice
-- of its thread says partial recovery, and the notice thread that owns it.
-- Rows from before are national, without a thread.
ALTER TABLE incidents ADD COLUMN scope TEXT NOT NULL DEFAULT 'national' CHECK (scope IN ('national', 'regional'));
ALTER TABLE incidents ADD COLUMN areas TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN partly_recovered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN started_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN thread TEXT NOT NULL DEFAULT '';
-- A carrier may have several open incidents, one per notice thread (a
-- national one and regional ones); manual incidents have no thread.
DROP INDEX incidents_one_open;
CREATE UNIQUE INDEX incidents_one_open_per_thread ON incidents(carrier_id, thread) WHERE state = 'open';

-- What the detector said of each notice beyond its verdict.
ALTER TABLE notices ADD COLUMN thread TEXT NOT NULL DEFAULT '';
ALTER TABLE notices ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE notices ADD COLUMN areas TEXT NOT NULL DEFAULT '[]';
