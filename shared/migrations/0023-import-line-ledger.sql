-- Which lines of each log import a consumer group has applied: one bit per line, 64 lines a row
-- (word = line >> 6), merged with groupBitOr. The bits of a batch are written in the same insert
-- block as its rollups, so a line's counts and its bit commit together, and a line that a resumed
-- import or a re-sent shipper chunk produces again is dropped however much later it arrives.
CREATE TABLE IF NOT EXISTS import_line_ledger (
  consumer_group String,
  import_key String,
  word UInt64,
  bits AggregateFunction(groupBitOr, UInt64)
) ENGINE = AggregatingMergeTree() ORDER BY (consumer_group, import_key, word);

-- The processor's entry point from now on: rollup_ingest (0002) plus a 'lines' kind. Null keeps
-- nothing; the views fan each block out to the same tables as before, and to import_line_ledger.
-- ClickHouse runs a table's views in the order of their names, each after the last, with no
-- transaction: the ledgers' views are named to run last, so an insert that fails while writing the
-- rollups has recorded neither its offset nor its lines, and is retried whole.
CREATE TABLE IF NOT EXISTS rollup_ingest_v2 (
  kind Enum8('daily' = 1, 'hourly' = 2, 'ledger' = 3, 'lines' = 4),
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
  batch_id String,
  import_key String,
  word UInt64,
  bits UInt64
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v2_mv TO rollup_daily AS
SELECT practice_id, day, source, dim, value,
  sumState(pageviews) AS pageviews, sumState(visits) AS visits, sumState(bounces) AS bounces,
  sumState(engaged_ms) AS engaged_ms, sumState(events) AS events, uniqArrayState(visitor_hashes) AS visitors
FROM rollup_ingest_v2 WHERE kind = 'daily'
GROUP BY practice_id, day, source, dim, value;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_hourly_v2_mv TO rollup_hourly AS
SELECT practice_id, day, hour, source,
  sumState(pageviews) AS pageviews, sumState(visits) AS visits, sumState(bounces) AS bounces,
  sumState(engaged_ms) AS engaged_ms, uniqArrayState(visitor_hashes) AS visitors
FROM rollup_ingest_v2 WHERE kind = 'hourly'
GROUP BY practice_id, day, hour, source;

CREATE MATERIALIZED VIEW IF NOT EXISTS zz_processor_ledger_v2_mv TO processor_ledger AS
SELECT consumer_group, topic, partition, next_offset, batch_id, now() AS committed_at
FROM rollup_ingest_v2 WHERE kind = 'ledger';

CREATE MATERIALIZED VIEW IF NOT EXISTS zz_import_line_ledger_mv TO import_line_ledger AS
SELECT consumer_group, import_key, word, groupBitOrState(bits) AS bits
FROM rollup_ingest_v2 WHERE kind = 'lines'
GROUP BY consumer_group, import_key, word;
