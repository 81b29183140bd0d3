-- Practice registry. Rows are versioned; readers take the latest version per practice (FINAL).
CREATE TABLE IF NOT EXISTS practices (
  practice_id String,
  site_key String,
  name String,
  domains Array(String),
  timezone String,
  cookie_mode UInt8,
  page_classes String,
  exit_allowlist Array(String),
  props_allowlist Array(String),
  share_with_partners UInt8,
  share_identity UInt8,
  mark_not_found UInt8,
  deleted UInt8,
  version UInt64,
  updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(version) ORDER BY practice_id;
