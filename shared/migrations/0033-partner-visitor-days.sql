-- Partner releases count visitor-days (issue 17): each visitor key on each UTC day of its salt counts
-- at most once per practice, source and cell, whatever the time zone, the arrival time or the seal
-- timing. The processor writes one value per visitor key and cell under the UTC day of the key's
-- salt (`day`), while that day is open; late events are left out. `sealed` 0 rows are those states,
-- one partition per UTC day; the sealer replaces a practice's day with its exact counts (`sealed` 1)
-- once, and drops the day's states; states of a day already sealed are dropped uncounted. `cell` is
-- 'all' (every visitor key) or a country code (daily-salt keys only: they include the IP address, so
-- a key has one country; a cookie can show up in several).
CREATE TABLE IF NOT EXISTS partner_visitor_days (
  practice_id String,
  day Date,
  source Enum8('snippet' = 1, 'logs' = 2),
  cell String,
  sealed UInt8,
  visitors AggregateFunction(uniqArray, Array(UInt64)),
  visitors_sealed AggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree()
PARTITION BY (toYYYYMM(day), sealed, if(sealed = 0, toDayOfMonth(day), 0))
ORDER BY (practice_id, day, cell, source);

-- The entry point of the processor and the sealer (one block per insert, applied by the view).
CREATE TABLE IF NOT EXISTS partner_visitor_days_ingest (
  practice_id String,
  day Date,
  source Enum8('snippet' = 1, 'logs' = 2),
  cell String,
  sealed UInt8,
  visitor_hashes Array(UInt64),
  visitor_count UInt64
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS partner_visitor_days_mv TO partner_visitor_days AS
SELECT practice_id, day, source, cell, sealed, uniqArrayState(visitor_hashes) AS visitors,
  sumState(visitor_count) AS visitors_sealed
FROM partner_visitor_days_ingest
GROUP BY practice_id, day, source, cell, sealed;

-- When the processor began writing partner rows: a month that started before holds no complete data,
-- and is never released.
CREATE TABLE IF NOT EXISTS partner_visitor_days_since (started_at DateTime('UTC')) ENGINE = MergeTree() ORDER BY started_at;

INSERT INTO partner_visitor_days_since (started_at)
SELECT now() WHERE (SELECT count() FROM partner_visitor_days_since) = 0;
