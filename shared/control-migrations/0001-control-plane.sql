-- The control plane: tenants, partners, keys, partner releases and the privacy-budget ledger.
-- Constraints do the work that ClickHouse could not: unique site keys and key hashes, keys that
-- belong to a practice or partner that exists, one release per partner, month and format.

-- Bumped on every practice change; collectors and processors poll max(revision) to reload.
CREATE SEQUENCE practice_revision;

CREATE TABLE practices (
  practice_id text PRIMARY KEY,
  site_key text NOT NULL UNIQUE,
  name text NOT NULL,
  domains text[] NOT NULL,
  timezone text NOT NULL,
  cookie_mode boolean NOT NULL,
  page_classes jsonb NOT NULL,
  exit_allowlist text[] NOT NULL,
  props_allowlist text[] NOT NULL,
  share_with_partners boolean NOT NULL,
  share_identity boolean NOT NULL,
  mark_not_found boolean NOT NULL,
  revision bigint NOT NULL DEFAULT nextval('practice_revision'),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE partners (
  partner_id text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Only the SHA-256 of a key's secret is stored. A practice key names its practice and a partner
-- key its partner (foreign keys); an admin key names neither. Revocation is permanent.
CREATE TABLE api_keys (
  key_id text PRIMARY KEY,
  hash text NOT NULL UNIQUE,
  role text NOT NULL CHECK (role IN ('admin', 'practice', 'partner')),
  practice_id text REFERENCES practices (practice_id),
  partner_id text REFERENCES partners (partner_id),
  label text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  last_used_day date,
  CHECK (
    (role = 'admin' AND practice_id IS NULL AND partner_id IS NULL)
    OR (role = 'practice' AND practice_id IS NOT NULL AND partner_id IS NULL)
    OR (role = 'partner' AND partner_id IS NOT NULL AND practice_id IS NULL)
  )
);

-- Per-practice ingest keys for log shippers; only the SHA-256 of the secret is stored.
CREATE TABLE ingest_keys (
  key_hash text PRIMARY KEY,
  practice_id text NOT NULL REFERENCES practices (practice_id),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

-- A partner release is made once per partner, month and format and served unchanged afterwards
-- (fresh noise per request would let averaging remove it): the primary key makes the claim.
CREATE TABLE partner_releases (
  partner_id text NOT NULL REFERENCES partners (partner_id),
  month text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  format text NOT NULL,
  release_id text NOT NULL,
  body text NOT NULL,
  manifest text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (partner_id, month, format)
);

-- Privacy budget spent per partner and data year, in millionths of epsilon (exact sums). One
-- charge per release: a release cannot be charged twice.
CREATE TABLE privacy_budget_ledger (
  release_id text PRIMARY KEY,
  partner_id text NOT NULL REFERENCES partners (partner_id),
  year integer NOT NULL,
  month text NOT NULL,
  epsilon_micro bigint NOT NULL CHECK (epsilon_micro > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX privacy_budget_ledger_by_partner_year ON privacy_budget_ledger (partner_id, year);
