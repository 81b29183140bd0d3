-- Brings both histories of version 21 to one schema: databases that applied
-- 0021-log-import-ledger have log_import_ledger, those that applied the superseded
-- 0021-forget-raw-line-hashes have an emptied log_imports and no ledger.
-- The import ledger moves to log_import_progress.
CREATE TABLE IF NOT EXISTS log_import_ledger (
  import_id String,
  practice_id String,
  lines_committed UInt64,
  prefix_hash String,
  updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(lines_committed) ORDER BY (practice_id, import_id);

DROP TABLE IF EXISTS log_imports;

CREATE TABLE IF NOT EXISTS log_import_progress (
  import_id String,
  practice_id String,
  lines_committed UInt64,
  prefix_hash String,
  updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(lines_committed) ORDER BY (practice_id, import_id);

INSERT INTO log_import_progress
SELECT import_id, practice_id, lines_committed, prefix_hash, updated_at FROM log_import_ledger;

DROP TABLE IF EXISTS log_import_ledger;

-- The deployment's key for the Kafka buckets of log lines (collector `clientBucket`), drawn once, here:
-- an import's bucket of a client is a keyed hash under it, so every run of an import, concurrent or a
-- year apart, puts a line on the same partition. It only spreads lines over 32 buckets.
CREATE TABLE IF NOT EXISTS import_bucket_key (key String) ENGINE = MergeTree() ORDER BY tuple();

INSERT INTO import_bucket_key
SELECT concat(hex(rand64(1)), hex(rand64(2)), hex(rand64(3)), hex(rand64(4))) AS key FROM system.one
WHERE (SELECT count() FROM import_bucket_key) = 0;
