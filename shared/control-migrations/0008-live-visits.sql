-- Visits open in the last few minutes, per practice and source: the dashboard's "current visitors"
-- (issue 20). Each processor replaces its own rows every half minute with counts of the visits it
-- holds in memory; readers add up the rows published recently. Counts only: no visitor value.
CREATE TABLE live_visits (
  instance_id text NOT NULL,
  practice_id text NOT NULL,
  source text NOT NULL CHECK (source IN ('snippet', 'logs')),
  open_visits integer NOT NULL CHECK (open_visits > 0),
  published_at timestamptz NOT NULL,
  PRIMARY KEY (instance_id, practice_id, source)
);
CREATE INDEX live_visits_by_practice ON live_visits (practice_id, source, published_at);
