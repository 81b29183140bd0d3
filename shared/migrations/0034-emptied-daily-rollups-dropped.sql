-- 0030 moved the daily rollups to rollup_daily_v4 and emptied rollup_daily_v3 (kept so that 0030
-- could be re-run after a failure). Nothing reads or writes it since, so it goes. A v3 that still
-- holds rows means 0030 did not finish as recorded: refuse rather than drop figures.
SELECT throwIf(
  (SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'rollup_daily_v3' AND active AND rows > 0) > 0
);
DROP TABLE IF EXISTS rollup_daily_v3;
