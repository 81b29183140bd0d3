-- Daily rollups sorted by dimension before day: a read of one dimension over a day range (the
-- dashboard's totals and breakdowns, the report's sections) touches only that dimension's rows, not
-- every dimension's rows of those days. Smaller granules (1,024 rows) keep a small practice's read
-- to a few hundred rows per part. Same columns and partitions as rollup_daily_v3 (0026, 0029), so
-- the sealer drops the same partitions and the views write the same rows.
CREATE TABLE IF NOT EXISTS rollup_daily_v4 (
  practice_id String,
  day Date,
  source Enum8('snippet' = 1, 'logs' = 2),
  dim String,
  value String,
  states UInt8,
  written_hour UInt32,
  pageviews AggregateFunction(sum, Int64),
  visits AggregateFunction(sum, Int64),
  bounces AggregateFunction(sum, Int64),
  engaged_ms AggregateFunction(sum, Int64),
  events AggregateFunction(sum, Int64),
  visitors AggregateFunction(uniqArray, Array(UInt64)),
  visitors_closed AggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree()
PARTITION BY (toYYYYMM(day), states, if(states = 1, toDayOfMonth(day), 0), written_hour)
ORDER BY (practice_id, dim, source, day, value)
SETTINGS index_granularity = 1024;

-- While the views move and the rows are copied, every insert into the ingest table fails whole: this
-- view is the first to run (views apply in name order) and throws on any row, so a processor or
-- sealer of the previous release writes nothing anywhere and retries its block later, and nothing
-- reaches rollup_daily_v4 before the copy. A migration that stops half way leaves the gate shut
-- (the processors' inserts keep failing, loudly) until it is run again.
CREATE TABLE IF NOT EXISTS migration_0030_gate (refused UInt8) ENGINE = Null;
CREATE MATERIALIZED VIEW IF NOT EXISTS a_migration_0030_gate_mv TO migration_0030_gate AS
SELECT throwIf(length(practice_id) >= 0) AS refused FROM rollup_ingest_v3;

DROP TABLE IF EXISTS rollup_daily_v3_counts_v2_mv;
DROP TABLE IF EXISTS rollup_daily_v3_states_v2_mv;

-- The views of 0029, writing to the new table, with every dimension whose values are free text from
-- outside (FREE_TEXT_DIM_SQL): besides referrer and campaigns, utm_term, utm_content, declared form
-- names and undeclared property values (prop:<key>), and goal breakdowns by referrer and campaign
-- (issue 18). Rows of these that carry visitor values stay beside their states until sealed.
CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v4_counts_mv TO rollup_daily_v4 AS
SELECT practice_id, day, source, dim, value, toUInt8(0) AS states, toUInt32(0) AS written_hour,
  sumState(pageviews) AS pageviews, sumState(visits) AS visits, sumState(bounces) AS bounces,
  sumState(engaged_ms) AS engaged_ms, sumState(events) AS events,
  uniqArrayStateIf(visitor_hashes, 0) AS visitors, sumState(visitor_count) AS visitors_closed
FROM rollup_ingest_v3
WHERE kind = 'daily' AND NOT (notEmpty(visitor_hashes) AND (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form', 'goal_referrer', 'goal_campaign') OR dim LIKE 'prop:%'))
GROUP BY practice_id, day, source, dim, value;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v4_states_mv TO rollup_daily_v4 AS
SELECT practice_id, day, source, dim, value, states, written_hour,
  sumStateIf(pageviews, (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form', 'goal_referrer', 'goal_campaign') OR dim LIKE 'prop:%')) AS pageviews,
  sumStateIf(visits, (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form', 'goal_referrer', 'goal_campaign') OR dim LIKE 'prop:%')) AS visits,
  sumStateIf(bounces, (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form', 'goal_referrer', 'goal_campaign') OR dim LIKE 'prop:%')) AS bounces,
  sumStateIf(engaged_ms, (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form', 'goal_referrer', 'goal_campaign') OR dim LIKE 'prop:%')) AS engaged_ms,
  sumStateIf(events, (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form', 'goal_referrer', 'goal_campaign') OR dim LIKE 'prop:%')) AS events,
  uniqArrayState(visitor_hashes) AS visitors, sumStateIf(visitor_count, 0) AS visitors_closed
FROM rollup_ingest_v3 WHERE kind = 'daily' AND states != 0 AND notEmpty(visitor_hashes)
GROUP BY practice_id, day, source, dim, value, states, written_hour;

-- Every row, states included, into the same partitions (the sealer seals them there; seals already
-- made are in visitor_seal_ledger, which both tables share). Once: with the gate shut nothing else
-- writes the new table, so a row in it means an earlier run copied (scalar subqueries are evaluated
-- before the insert starts).
INSERT INTO rollup_daily_v4 (practice_id, day, source, dim, value, states, written_hour, pageviews, visits, bounces, engaged_ms, events, visitors, visitors_closed)
SELECT practice_id, day, source, dim, value, states, written_hour, pageviews, visits, bounces, engaged_ms, events, visitors, visitors_closed
FROM rollup_daily_v3
WHERE (SELECT count() FROM rollup_daily_v4) = 0;

-- A copy that stopped part way (an insert is atomic per block and partition only) must not pass for
-- a whole one: while the old table still holds rows, both must hold the same figures, or the
-- migration fails here, every run, with the old rows kept and the gate shut.
SELECT throwIf(
  (SELECT tuple(sumMerge(pageviews), sumMerge(visits), sumMerge(bounces), sumMerge(engaged_ms), sumMerge(events), sumMerge(visitors_closed), uniqArrayMerge(visitors)) FROM rollup_daily_v3)
  != (SELECT tuple(sumMerge(pageviews), sumMerge(visits), sumMerge(bounces), sumMerge(engaged_ms), sumMerge(events), sumMerge(visitors_closed), uniqArrayMerge(visitors)) FROM rollup_daily_v4)
  AND (SELECT count() FROM rollup_daily_v3) > 0
);

-- The old table's visitor states go with it, so none outlives its salt where the sealer no longer
-- looks. Emptied, not dropped, so that this migration can be run again after a failure; a later
-- migration drops it.
TRUNCATE TABLE rollup_daily_v3;

DROP TABLE IF EXISTS a_migration_0030_gate_mv;
DROP TABLE IF EXISTS migration_0030_gate;
