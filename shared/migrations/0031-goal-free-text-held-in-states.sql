-- Goals (issue 18): their breakdowns by referrer and by campaign (dims goal_referrer, goal_campaign)
-- hold free text from outside like referrer and utm_campaign, so their counts too stay beside their
-- visitor states until the day is sealed, and a value seen from fewer than k visitors is then stored
-- under '(rare)' (migration 0029). The views of 0029 are replaced by the same views with the longer
-- list; new first, old after, as there. Every other dimension, the new ones included, is unchanged.
CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v3_counts_v3_mv TO rollup_daily_v3 AS
SELECT practice_id, day, source, dim, value, toUInt8(0) AS states, toUInt32(0) AS written_hour,
  sumState(pageviews) AS pageviews, sumState(visits) AS visits, sumState(bounces) AS bounces,
  sumState(engaged_ms) AS engaged_ms, sumState(events) AS events,
  uniqArrayStateIf(visitor_hashes, 0) AS visitors, sumState(visitor_count) AS visitors_closed
FROM rollup_ingest_v3
WHERE kind = 'daily' AND NOT (notEmpty(visitor_hashes) AND dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'goal_referrer', 'goal_campaign'))
GROUP BY practice_id, day, source, dim, value;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v3_states_v3_mv TO rollup_daily_v3 AS
SELECT practice_id, day, source, dim, value, states, written_hour,
  sumStateIf(pageviews, dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'goal_referrer', 'goal_campaign')) AS pageviews,
  sumStateIf(visits, dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'goal_referrer', 'goal_campaign')) AS visits,
  sumStateIf(bounces, dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'goal_referrer', 'goal_campaign')) AS bounces,
  sumStateIf(engaged_ms, dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'goal_referrer', 'goal_campaign')) AS engaged_ms,
  sumStateIf(events, dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'goal_referrer', 'goal_campaign')) AS events,
  uniqArrayState(visitor_hashes) AS visitors, sumStateIf(visitor_count, 0) AS visitors_closed
FROM rollup_ingest_v3 WHERE kind = 'daily' AND states != 0 AND notEmpty(visitor_hashes)
GROUP BY practice_id, day, source, dim, value, states, written_hour;

DROP TABLE IF EXISTS rollup_daily_v3_counts_v2_mv;
DROP TABLE IF EXISTS rollup_daily_v3_states_v2_mv;
