-- Brings both histories of version 21 to one schema: databases that applied
-- 0021-log-import-ledger have log_import_ledger, those that applied the superseded
-- 0021-forget-raw-line-hashes have an emptied log_imports and no ledger.
-- The import ledger moves to log_import_progress, which also keeps each import's bucket secret:
-- the key that spreads its lines over Kafka partitions, so that a resumed import puts every line
-- on the partition it went to the first time (collector `import-ledger.ts`).
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
  bucket_secret String,
  updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(lines_committed) ORDER BY (practice_id, import_id);

-- Imports begun before this migration keep their progress; they get a bucket secret when next resumed.
INSERT INTO log_import_progress
SELECT import_id, practice_id, lines_committed, prefix_hash, '' AS bucket_secret, updated_at FROM log_import_ledger;

DROP TABLE IF EXISTS log_import_ledger;
