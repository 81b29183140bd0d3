-- The rollups of before 0026, whose visitor states hold one value per visitor across rows: 0026
-- copied them, so they go (in a migration of their own, so that 0026 can be re-run after a failure).
DROP TABLE IF EXISTS rollup_daily;
DROP TABLE IF EXISTS rollup_hourly;
