-- Free-text values (referrer, utm_source, utm_medium, utm_campaign) must be seen from at least k
-- visitors in a day to be stored. Their rows' counts now stay beside their visitor states, in the
-- states' partition, until the day is sealed: the sealer then writes them under their value, or
-- under '(rare)', and drops the partition, and with it every rare value. Other rows are unchanged.
-- The new views come first and the old ones go after, so no block misses the daily rows. (The counts
-- view cannot test `states` in its WHERE: its own `0 AS states` would shadow the column; only open
-- rows carry visitor values.)
CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v3_counts_v2_mv TO rollup_daily_v3 AS
SELECT practice_id, day, source, dim, value, toUInt8(0) AS states, toUInt32(0) AS written_hour,
  sumState(pageviews) AS pageviews, sumState(visits) AS visits, sumState(bounces) AS bounces,
  sumState(engaged_ms) AS engaged_ms, sumState(events) AS events,
  uniqArrayStateIf(visitor_hashes, 0) AS visitors, sumState(visitor_count) AS visitors_closed
FROM rollup_ingest_v3
WHERE kind = 'daily' AND NOT (notEmpty(visitor_hashes) AND dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign'))
GROUP BY practice_id, day, source, dim, value;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v3_states_v2_mv TO rollup_daily_v3 AS
SELECT practice_id, day, source, dim, value, states, written_hour,
  sumStateIf(pageviews, dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign')) AS pageviews,
  sumStateIf(visits, dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign')) AS visits,
  sumStateIf(bounces, dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign')) AS bounces,
  sumStateIf(engaged_ms, dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign')) AS engaged_ms,
  sumStateIf(events, dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign')) AS events,
  uniqArrayState(visitor_hashes) AS visitors, sumStateIf(visitor_count, 0) AS visitors_closed
FROM rollup_ingest_v3 WHERE kind = 'daily' AND states != 0 AND notEmpty(visitor_hashes)
GROUP BY practice_id, day, source, dim, value, states, written_hour;

DROP TABLE IF EXISTS rollup_daily_v3_counts_mv;
DROP TABLE IF EXISTS rollup_daily_v3_states_mv;
