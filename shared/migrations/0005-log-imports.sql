-- Web-server log imports. One row per durably produced chunk; the highest line count wins, so
-- a re-import of the same file (same import id) skips the lines already produced. prefix_hash is
-- the SHA-256 of those lines, to tell a grown log from a different one (empty for shipper imports).
CREATE TABLE IF NOT EXISTS log_imports (
  import_id String,
  practice_id String,
  lines_committed UInt64,
  prefix_hash String,
  updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(lines_committed) ORDER BY (practice_id, import_id);

-- Per-practice ingest keys for log shippers. Only the SHA-256 of the secret is stored.
-- Revocation rows carry a higher version, so the latest row per key decides.
CREATE TABLE IF NOT EXISTS ingest_keys (
  key_hash String,
  practice_id String,
  created_at DateTime('UTC'),
  revoked UInt8,
  version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY key_hash;
