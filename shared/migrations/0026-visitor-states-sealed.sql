-- Visitor states live apart from counts and are sealed into plain numbers after their salt period.
-- `states` says what a row holds: 0 counts only (visitors as a number in visitors_closed), 1 visitor
-- states under a daily salt, 2 under a monthly salt (cookie mode), 3 and 4 the same for events that
-- came after their period had closed (late log imports), kept by `written_hour` (hours since 1970).
-- States of a daily salt get one partition per day, of a monthly salt one per month, late ones one
-- per month and hour written, so sealing replaces them with counts and then drops exactly their
-- partition, which nothing writes to any more; counts never merge with states.
CREATE TABLE IF NOT EXISTS rollup_daily_v3 (
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
ORDER BY (practice_id, day, dim, value, source);

CREATE TABLE IF NOT EXISTS rollup_hourly_v3 (
  practice_id String,
  day Date,
  hour UInt8,
  source Enum8('snippet' = 1, 'logs' = 2),
  states UInt8,
  written_hour UInt32,
  pageviews AggregateFunction(sum, Int64),
  visits AggregateFunction(sum, Int64),
  bounces AggregateFunction(sum, Int64),
  engaged_ms AggregateFunction(sum, Int64),
  visitors AggregateFunction(uniqArray, Array(UInt64)),
  visitors_closed AggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree()
PARTITION BY (toYYYYMM(day), states, if(states = 1, toDayOfMonth(day), 0), written_hour)
ORDER BY (practice_id, day, hour, source);

-- Unique visitors per row and month of sealed states: each seal adds its count (a daily salt's day,
-- or a monthly salt's whole month, counted across its days), so the month's unique visitors are
-- this plus the open states' unique count, in cookie mode too.
CREATE TABLE IF NOT EXISTS rollup_monthly_visitors (
  practice_id String,
  month Date,
  source Enum8('snippet' = 1, 'logs' = 2),
  dim String,
  value String,
  visitors AggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(month) ORDER BY (practice_id, month, dim, value, source);

-- Which practice's states of a partition are sealed (day: the partition's day, or its month's first):
-- written in the same block as the counts, so a sealing that stopped half way is not counted twice.
CREATE TABLE IF NOT EXISTS visitor_seal_ledger (
  practice_id String,
  day Date,
  states UInt8,
  written_hour UInt32,
  sealed_at DateTime('UTC')
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (practice_id, day, states, written_hour);

CREATE TABLE IF NOT EXISTS rollup_ingest_v3 (
  kind Enum8('daily' = 1, 'hourly' = 2, 'ledger' = 3, 'lines' = 4, 'monthly' = 5, 'seal' = 6),
  practice_id String,
  day Date,
  hour UInt8,
  source Enum8('snippet' = 1, 'logs' = 2),
  dim String,
  value String,
  states UInt8,
  written_hour UInt32,
  pageviews Int64,
  visits Int64,
  bounces Int64,
  engaged_ms Int64,
  events Int64,
  visitor_hashes Array(UInt64),
  visitor_count UInt64,
  consumer_group String,
  topic String,
  partition UInt32,
  next_offset UInt64,
  batch_id String,
  import_key String,
  word UInt64,
  bits UInt64
) ENGINE = Null;

-- An old processor's inserts must fail, not vanish, while the schema changes under it.
DROP TABLE IF EXISTS rollup_daily_mv;
DROP TABLE IF EXISTS rollup_hourly_mv;
DROP TABLE IF EXISTS processor_ledger_mv;
DROP TABLE IF EXISTS rollup_ingest;
DROP TABLE IF EXISTS rollup_daily_v2_mv;
DROP TABLE IF EXISTS rollup_hourly_v2_mv;
DROP TABLE IF EXISTS zz_processor_ledger_v2_mv;
DROP TABLE IF EXISTS zz_import_line_ledger_mv;
DROP TABLE IF EXISTS rollup_ingest_v2;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v3_counts_mv TO rollup_daily_v3 AS
SELECT practice_id, day, source, dim, value, toUInt8(0) AS states, toUInt32(0) AS written_hour,
  sumState(pageviews) AS pageviews, sumState(visits) AS visits, sumState(bounces) AS bounces,
  sumState(engaged_ms) AS engaged_ms, sumState(events) AS events,
  uniqArrayStateIf(visitor_hashes, 0) AS visitors, sumState(visitor_count) AS visitors_closed
FROM rollup_ingest_v3 WHERE kind = 'daily'
GROUP BY practice_id, day, source, dim, value;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v3_states_mv TO rollup_daily_v3 AS
SELECT practice_id, day, source, dim, value, states, written_hour,
  sumStateIf(pageviews, 0) AS pageviews, sumStateIf(visits, 0) AS visits, sumStateIf(bounces, 0) AS bounces,
  sumStateIf(engaged_ms, 0) AS engaged_ms, sumStateIf(events, 0) AS events,
  uniqArrayState(visitor_hashes) AS visitors, sumStateIf(visitor_count, 0) AS visitors_closed
FROM rollup_ingest_v3 WHERE kind = 'daily' AND states != 0 AND notEmpty(visitor_hashes)
GROUP BY practice_id, day, source, dim, value, states, written_hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_hourly_v3_counts_mv TO rollup_hourly_v3 AS
SELECT practice_id, day, hour, source, toUInt8(0) AS states, toUInt32(0) AS written_hour,
  sumState(pageviews) AS pageviews, sumState(visits) AS visits, sumState(bounces) AS bounces,
  sumState(engaged_ms) AS engaged_ms,
  uniqArrayStateIf(visitor_hashes, 0) AS visitors, sumState(visitor_count) AS visitors_closed
FROM rollup_ingest_v3 WHERE kind = 'hourly'
GROUP BY practice_id, day, hour, source;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_hourly_v3_states_mv TO rollup_hourly_v3 AS
SELECT practice_id, day, hour, source, states, written_hour,
  sumStateIf(pageviews, 0) AS pageviews, sumStateIf(visits, 0) AS visits, sumStateIf(bounces, 0) AS bounces,
  sumStateIf(engaged_ms, 0) AS engaged_ms,
  uniqArrayState(visitor_hashes) AS visitors, sumStateIf(visitor_count, 0) AS visitors_closed
FROM rollup_ingest_v3 WHERE kind = 'hourly' AND states != 0 AND notEmpty(visitor_hashes)
GROUP BY practice_id, day, hour, source, states, written_hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_monthly_visitors_mv TO rollup_monthly_visitors AS
SELECT practice_id, toStartOfMonth(day) AS month, source, dim, value, sumState(visitor_count) AS visitors
FROM rollup_ingest_v3 WHERE kind = 'monthly'
GROUP BY practice_id, month, source, dim, value;

-- The ledgers' views are named to run after the rollups' (views apply in name order).
CREATE MATERIALIZED VIEW IF NOT EXISTS zz_import_line_ledger_v3_mv TO import_line_ledger AS
SELECT consumer_group, import_key, word, groupBitOrState(bits) AS bits
FROM rollup_ingest_v3 WHERE kind = 'lines'
GROUP BY consumer_group, import_key, word;

CREATE MATERIALIZED VIEW IF NOT EXISTS zz_processor_ledger_v3_mv TO processor_ledger AS
SELECT consumer_group, topic, partition, next_offset, batch_id, now() AS committed_at
FROM rollup_ingest_v3 WHERE kind = 'ledger';

CREATE MATERIALIZED VIEW IF NOT EXISTS zz_visitor_seal_ledger_mv TO visitor_seal_ledger AS
SELECT practice_id, day, states, written_hour, now() AS sealed_at
FROM rollup_ingest_v3 WHERE kind = 'seal';

-- Existing data, copied once (a re-run after a failure finds the copy and skips it; scalar
-- subqueries are evaluated before the insert starts). Every row's counts; for a day older than 3
-- days, whose salts are gone in every time zone, its visitors as the exact count at this moment;
-- for the last 3 days the states themselves, as daily-salt states, which the processor's sealer
-- turns into counts when their day closes. The unique visitors per row of those older days, by
-- month, go to rollup_monthly_visitors (which every seal adds to): the old states hold one value per
-- visitor across rows and days, so a cookie-mode month's count is exact too.
INSERT INTO rollup_daily_v3 (practice_id, day, source, dim, value, states, written_hour, pageviews, visits, bounces, engaged_ms, events, visitors, visitors_closed)
SELECT practice_id, day, source, dim, value, toUInt8(0), toUInt32(0), s_pv, s_vi, s_bo, s_en, s_ev,
  arrayReduce('uniqArrayState', [emptyArrayUInt64()]),
  arrayReduce('sumState', if(day < today() - 3, [toUInt64(n)], emptyArrayUInt64()))
FROM (
  SELECT practice_id, day, source, dim, value, sumMergeState(pageviews) AS s_pv, sumMergeState(visits) AS s_vi,
    sumMergeState(bounces) AS s_bo, sumMergeState(engaged_ms) AS s_en, sumMergeState(events) AS s_ev,
    uniqArrayMerge(visitors) AS n
  FROM rollup_daily GROUP BY practice_id, day, source, dim, value
) AS legacy_counts
WHERE (SELECT count() FROM rollup_daily_v3) = 0
UNION ALL
SELECT practice_id, day, source, dim, value, toUInt8(1), toUInt32(0), arrayReduce('sumState', emptyArrayInt64()),
  arrayReduce('sumState', emptyArrayInt64()), arrayReduce('sumState', emptyArrayInt64()),
  arrayReduce('sumState', emptyArrayInt64()), arrayReduce('sumState', emptyArrayInt64()),
  s_visitors, arrayReduce('sumState', emptyArrayUInt64())
FROM (
  SELECT practice_id, day, source, dim, value, uniqArrayMergeState(visitors) AS s_visitors
  FROM rollup_daily WHERE day >= today() - 3
  GROUP BY practice_id, day, source, dim, value HAVING uniqArrayMerge(visitors) > 0
) AS legacy_states
WHERE (SELECT count() FROM rollup_daily_v3) = 0;

INSERT INTO rollup_hourly_v3 (practice_id, day, hour, source, states, written_hour, pageviews, visits, bounces, engaged_ms, visitors, visitors_closed)
SELECT practice_id, day, hour, source, toUInt8(0), toUInt32(0), s_pv, s_vi, s_bo, s_en,
  arrayReduce('uniqArrayState', [emptyArrayUInt64()]),
  arrayReduce('sumState', if(day < today() - 3, [toUInt64(n)], emptyArrayUInt64()))
FROM (
  SELECT practice_id, day, hour, source, sumMergeState(pageviews) AS s_pv, sumMergeState(visits) AS s_vi,
    sumMergeState(bounces) AS s_bo, sumMergeState(engaged_ms) AS s_en, uniqArrayMerge(visitors) AS n
  FROM rollup_hourly GROUP BY practice_id, day, hour, source
) AS legacy_counts
WHERE (SELECT count() FROM rollup_hourly_v3) = 0
UNION ALL
SELECT practice_id, day, hour, source, toUInt8(1), toUInt32(0), arrayReduce('sumState', emptyArrayInt64()),
  arrayReduce('sumState', emptyArrayInt64()), arrayReduce('sumState', emptyArrayInt64()),
  arrayReduce('sumState', emptyArrayInt64()), s_visitors, arrayReduce('sumState', emptyArrayUInt64())
FROM (
  SELECT practice_id, day, hour, source, uniqArrayMergeState(visitors) AS s_visitors
  FROM rollup_hourly WHERE day >= today() - 3
  GROUP BY practice_id, day, hour, source HAVING uniqArrayMerge(visitors) > 0
) AS legacy_states
WHERE (SELECT count() FROM rollup_hourly_v3) = 0;

INSERT INTO rollup_monthly_visitors (practice_id, month, source, dim, value, visitors)
SELECT practice_id, month, source, dim, value, arrayReduce('sumState', [toUInt64(n)])
FROM (
  SELECT practice_id, toStartOfMonth(day) AS month, source, dim, value, uniqArrayMerge(visitors) AS n
  FROM rollup_daily WHERE day < today() - 3 GROUP BY practice_id, month, source, dim, value HAVING n > 0
) AS legacy_months
WHERE (SELECT count() FROM rollup_monthly_visitors) = 0;
