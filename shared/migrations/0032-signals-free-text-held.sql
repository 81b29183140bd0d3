-- utm_term, utm_content, declared form names and custom-event property values (dims 'prop:<key>') are
-- free text like the campaign values of 0029: rows of these dimensions that carry visitor values stay
-- beside their states until the day is sealed, and a value seen from fewer than k visitors is then
-- stored as '(rare)'. (The processor writes a declared property value, and a form counted by its page
-- path, without visitor values, so they are counted at once.) The views of 0029 are replaced the way
-- 0029 replaced its own: the new ones first, so no block misses the daily rows. New dimensions
-- (action, scroll, scroll_page, screen) need nothing: `dim` is a String.
CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v3_counts_v3_mv TO rollup_daily_v3 AS
SELECT practice_id, day, source, dim, value, toUInt8(0) AS states, toUInt32(0) AS written_hour,
  sumState(pageviews) AS pageviews, sumState(visits) AS visits, sumState(bounces) AS bounces,
  sumState(engaged_ms) AS engaged_ms, sumState(events) AS events,
  uniqArrayStateIf(visitor_hashes, 0) AS visitors, sumState(visitor_count) AS visitors_closed
FROM rollup_ingest_v3
WHERE kind = 'daily' AND NOT (notEmpty(visitor_hashes) AND (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form') OR dim LIKE 'prop:%'))
GROUP BY practice_id, day, source, dim, value;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_daily_v3_states_v3_mv TO rollup_daily_v3 AS
SELECT practice_id, day, source, dim, value, states, written_hour,
  sumStateIf(pageviews, (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form') OR dim LIKE 'prop:%')) AS pageviews,
  sumStateIf(visits, (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form') OR dim LIKE 'prop:%')) AS visits,
  sumStateIf(bounces, (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form') OR dim LIKE 'prop:%')) AS bounces,
  sumStateIf(engaged_ms, (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form') OR dim LIKE 'prop:%')) AS engaged_ms,
  sumStateIf(events, (dim IN ('referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form') OR dim LIKE 'prop:%')) AS events,
  uniqArrayState(visitor_hashes) AS visitors, sumStateIf(visitor_count, 0) AS visitors_closed
FROM rollup_ingest_v3 WHERE kind = 'daily' AND states != 0 AND notEmpty(visitor_hashes)
GROUP BY practice_id, day, source, dim, value, states, written_hour;

DROP TABLE IF EXISTS rollup_daily_v3_counts_v2_mv;
DROP TABLE IF EXISTS rollup_daily_v3_states_v2_mv;
