-- Tenants, API keys and partner releases live in ClickHouse with the rollups: one store to run,
-- back up and migrate. The tables are tiny; versioned rows are read with FINAL.
CREATE TABLE IF NOT EXISTS partners (
  partner_id String,
  name String,
  version UInt64,
  created_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(version) ORDER BY partner_id;

-- Only the SHA-256 of a key's secret is stored. Revocation rows carry a version above 2^63, so a
-- last-used update written afterwards can never outrank them: revocation is permanent.
CREATE TABLE IF NOT EXISTS api_keys (
  key_id String,
  hash String,
  role Enum8('admin' = 1, 'practice' = 2, 'partner' = 3),
  scope_id String,
  label String,
  created_at DateTime('UTC'),
  revoked UInt8,
  last_used_day Date,
  version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY key_id;

-- A partner release is made once per partner and month and served unchanged afterwards
-- (fresh noise per request would let averaging remove it). The earliest row wins.
CREATE TABLE IF NOT EXISTS partner_releases (
  release_id String,
  partner_id String,
  month String,
  format String,
  body String,
  manifest String,
  created_at DateTime('UTC')
) ENGINE = MergeTree() ORDER BY (partner_id, month, format, created_at);

-- Privacy budget spent per partner and data year, in millionths of epsilon (exact sums).
CREATE TABLE IF NOT EXISTS privacy_budget_ledger (
  partner_id String,
  year UInt16,
  month String,
  release_id String,
  epsilon_micro UInt64,
  created_at DateTime('UTC')
) ENGINE = MergeTree() ORDER BY (partner_id, year, created_at);
