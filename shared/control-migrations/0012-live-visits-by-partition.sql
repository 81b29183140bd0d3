-- Current visits keyed by the Kafka partition whose visits they count (issue 20). Keyed by processor
-- alone, a processor that crashed kept counting beside the member that took its partitions over until
-- its rows went stale (up to 90 s). The member that takes a partition over now replaces its rows at
-- once, and each partition has one count per practice and source. The rows are half a minute's
-- counts, so they are cleared rather than converted.
DELETE FROM live_visits;
ALTER TABLE live_visits ADD COLUMN partition_key text NOT NULL;
ALTER TABLE live_visits DROP CONSTRAINT live_visits_pkey;
ALTER TABLE live_visits ADD PRIMARY KEY (partition_key, practice_id, source);
CREATE INDEX live_visits_by_instance ON live_visits (instance_id);
