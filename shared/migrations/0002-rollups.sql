-- Per-practice aggregates: the only event data that reaches storage.
-- Days and hours are the practice's local time; nothing finer than the hour is kept.
-- Counts are signed sums so a visit's exit page and bounce can be corrected as the visit goes on.
-- Visitors are uniq states over keyed visitor hashes, never the keys themselves.
CREATE TABLE IF NOT EXISTS rollup_daily (
  practice_id String,
  day Date,
  source Enum8('snippet' = 1, 'logs' = 2),
  dim String,
  value String,
  pageviews AggregateFunction(sum, Int64),
  visits AggregateFunction(sum, Int64),
  bounces AggregateFunction(sum, Int64),
  engaged_ms AggregateFunction(sum, Int64),
  events AggregateFunction(sum, Int64),
  visitors AggregateFunction(uniqArray, Array(UInt64))
) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (practice_id, day, dim, value, source);

CREATE TABLE IF NOT EXISTS rollup_hourly (
  practice_id String,
  day Date,
  hour UInt8,
  source Enum8('snippet' = 1, 'logs' = 2),
  pageviews AggregateFunction(sum, Int64),
  visits AggregateFunction(sum, Int64),
  bounces AggregateFunction(sum, Int64),
  engaged_ms AggregateFunction(sum, Int64),
  visitors AggregateFunction(uniqArray, Array(UInt64))
) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (practice_id, day, hour, source);

-- Where each processor batch ends, per consumer group and Kafka partition. Written in the same
-- insert block as the batch's rollups (see rollup_ingest), so data and ledger commit together.
CREATE TABLE IF NOT EXISTS processor_ledger (
  consumer_group String,
  topic String,
  partition UInt32,
  next_offset UInt64,
  batch_id String,
  committed_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(next_offset) ORDER BY (consumer_group, topic, partition);

-- The processor's single entry point: one Native block per batch holding daily rows, hourly rows
-- and one ledger row. Null keeps nothing; the views below fan the block out.
CREATE TABLE IF NOT EXISTS rollup_ingest (
  kind Enum8('daily' = 1, 'hourly' = 2, 'ledger' = 3),
  practice_id String,
  day Date,
  hour UInt8,
  source Enum8('snippet' = 1, 'logs' = 2),
  dim String,
  value String,
  pageviews Int64,
  visits Int64,
  bounces Int64,
  engaged_ms Int64,
  events Int64,
  visitor_hashes Array(UInt64),
  consumer_group String,
  topic String,
  partition UInt32,
  next_offset UInt64,
  batch_id String
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_mv TO rollup_daily AS
SELECT practice_id, day, source, dim, value,
  sumState(pageviews) AS pageviews, sumState(visits) AS visits, sumState(bounces) AS bounces,
  sumState(engaged_ms) AS engaged_ms, sumState(events) AS events, uniqArrayState(visitor_hashes) AS visitors
FROM rollup_ingest WHERE kind = 'daily'
GROUP BY practice_id, day, source, dim, value;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_hourly_mv TO rollup_hourly AS
SELECT practice_id, day, hour, source,
  sumState(pageviews) AS pageviews, sumState(visits) AS visits, sumState(bounces) AS bounces,
  sumState(engaged_ms) AS engaged_ms, uniqArrayState(visitor_hashes) AS visitors
FROM rollup_ingest WHERE kind = 'hourly'
GROUP BY practice_id, day, hour, source;

CREATE MATERIALIZED VIEW IF NOT EXISTS processor_ledger_mv TO processor_ledger AS
SELECT consumer_group, topic, partition, next_offset, batch_id, now() AS committed_at
FROM rollup_ingest WHERE kind = 'ledger';
