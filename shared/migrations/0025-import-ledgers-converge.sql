-- 0022 and 0023 were changed after commit 35d6850 had shipped them (see `superseded` in released.json).
-- A database that applied those first versions has no import_bucket_key and ledger views named to run
-- before the rollup views; this brings it to the schema of the current files (on a database that
-- applied those, it changes nothing). It keeps log_import_progress.bucket_secret: 18.16 has no DROP
-- COLUMN IF EXISTS, nothing reads the column, and every insert names its columns (it stays '').
CREATE TABLE IF NOT EXISTS import_bucket_key (key String) ENGINE = MergeTree() ORDER BY tuple();

INSERT INTO import_bucket_key
SELECT concat(hex(rand64(1)), hex(rand64(2)), hex(rand64(3)), hex(rand64(4))) AS key FROM system.one
WHERE (SELECT count() FROM import_bucket_key) = 0;

-- The ledger views that run last are created before the old ones go: meanwhile both write, which the
-- ledgers absorb (the highest offset wins; line bits are OR-ed), whereas a gap would lose an offset.
CREATE MATERIALIZED VIEW IF NOT EXISTS zz_processor_ledger_v2_mv TO processor_ledger AS
SELECT consumer_group, topic, partition, next_offset, batch_id, now() AS committed_at
FROM rollup_ingest_v2 WHERE kind = 'ledger';

CREATE MATERIALIZED VIEW IF NOT EXISTS zz_import_line_ledger_mv TO import_line_ledger AS
SELECT consumer_group, import_key, word, groupBitOrState(bits) AS bits
FROM rollup_ingest_v2 WHERE kind = 'lines'
GROUP BY consumer_group, import_key, word;

DROP TABLE IF EXISTS processor_ledger_v2_mv;

DROP TABLE IF EXISTS import_line_ledger_mv;
