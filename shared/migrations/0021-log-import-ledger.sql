-- Replaces log_imports (0005), whose import ids and prefix hashes were SHA-256 of raw log lines: a
-- line's address could be recovered from such a hash by trying the addresses of one network. The
-- ledger now keeps hashes of line shapes only (time, method, status, length; collector
-- `lineShape`), and the old rows, useless under the new import ids, are dropped with their table.
DROP TABLE IF EXISTS log_imports;

-- One row per durably produced chunk of a log import; the highest line count wins, so a
-- re-import of the same log skips the lines already produced. prefix_hash is the SHA-256 of the
-- committed lines' shapes, to tell a grown log from a different one (empty for shipper imports).
CREATE TABLE IF NOT EXISTS log_import_ledger (
  import_id String,
  practice_id String,
  lines_committed UInt64,
  prefix_hash String,
  updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(lines_committed) ORDER BY (practice_id, import_id);
