-- Share links (issue 20): read-only, revocable, expiring access to one practice's dashboard.
-- Only hashes are stored: SHA-256 of the link's 256-bit secret, argon2id of its optional password,
-- SHA-256 of each unlock's secret. Password guesses are throttled per link (share_link_failures).
CREATE TABLE share_links (
  link_id text PRIMARY KEY CHECK (link_id ~ '^[0-9a-f]{16}$'),
  practice_id text NOT NULL REFERENCES practices (practice_id) ON DELETE CASCADE,
  token_hash text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  label text NOT NULL DEFAULT '',
  password_hash text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  CHECK (expires_at > created_at)
);
CREATE INDEX share_links_by_practice ON share_links (practice_id);

-- What a correct password buys: a bearer token for a few hours, never longer than its link.
CREATE TABLE share_link_unlocks (
  unlock_id text PRIMARY KEY CHECK (unlock_id ~ '^[0-9a-f]{16}$'),
  link_id text NOT NULL REFERENCES share_links (link_id) ON DELETE CASCADE,
  secret_hash text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
  expires_at timestamptz NOT NULL
);

CREATE TABLE share_link_failures (
  link_id text NOT NULL REFERENCES share_links (link_id) ON DELETE CASCADE,
  failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX share_link_failures_by_link ON share_link_failures (link_id, failed_at);
