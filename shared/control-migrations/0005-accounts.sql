-- Accounts for people (issue 19): users, their roles, sessions, single-use links, two-factor, sign-in
-- throttling and the audit log. The rules that must hold under concurrency are the database's: a link
-- or recovery code is used once (trigger), never after it expired (CHECK), an email is stored in one
-- normalised form (CHECK) and is throttled by a digest of that form, so a lockout cannot be side-stepped
-- by case or spaces, and the audit log
-- refuses UPDATE, DELETE and TRUNCATE from everyone (triggers).

-- Raised by the single-use triggers; the reporter maps this SQLSTATE to "link already used".
CREATE FUNCTION refuse_reuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF OLD.used_at IS NOT NULL THEN RAISE EXCEPTION 'already used' USING ERRCODE = 'P0002'; END IF; RETURN NEW; END $$;

CREATE TABLE users (
  user_id text PRIMARY KEY,
  email text NOT NULL UNIQUE CHECK (email = lower(btrim(email)) AND email ~ '^[^@\s]+@[^@\s]+$'),
  -- argon2id (PHC string); NULL until the person accepts their invitation.
  password_hash text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
  -- The TOTP secret (base32) once enrolment is confirmed; pending while being enrolled.
  totp_secret text,
  totp_pending_secret text,
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);

CREATE TABLE operator_admins (
  user_id text PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
  granted_at timestamptz NOT NULL DEFAULT now()
);

-- A person may belong to several practices, with one role in each.
CREATE TABLE memberships (
  user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  practice_id text NOT NULL REFERENCES practices (practice_id),
  role text NOT NULL CHECK (role IN ('owner', 'viewer')),
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, practice_id)
);
CREATE INDEX memberships_by_practice ON memberships (practice_id);

CREATE TABLE partner_users (
  user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  partner_id text NOT NULL REFERENCES partners (partner_id),
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, partner_id)
);

-- Only the SHA-256 of a session token is stored. A session is valid while both expiries are ahead;
-- `needs_totp` marks an operator admin's session that may only enrol two-factor.
CREATE TABLE sessions (
  token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  needs_totp boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  absolute_expires_at timestamptz NOT NULL,
  CHECK (absolute_expires_at > created_at)
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Invitations and password resets: single-use, expiring links, stored as SHA-256. An invitation names
-- the email, practice and role it grants (or a partner); a reset names its user.
CREATE TABLE account_links (
  token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  purpose text NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
  email text NOT NULL CHECK (email = lower(btrim(email))),
  practice_id text REFERENCES practices (practice_id),
  role text CHECK (role IN ('owner', 'viewer')),
  partner_id text REFERENCES partners (partner_id),
  invited_by text REFERENCES users (user_id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CHECK (used_at IS NULL OR used_at < expires_at),
  CHECK ((practice_id IS NULL) = (role IS NULL)),
  CHECK (purpose = 'invitation' OR (practice_id IS NULL AND partner_id IS NULL))
);
CREATE TRIGGER account_links_single_use BEFORE UPDATE ON account_links FOR EACH ROW EXECUTE FUNCTION refuse_reuse();

-- Recovery codes for two-factor, SHA-256, each usable once.
CREATE TABLE recovery_codes (
  user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  code_hash text NOT NULL CHECK (code_hash ~ '^[0-9a-f]{64}$'),
  used_at timestamptz,
  PRIMARY KEY (user_id, code_hash)
);
CREATE TRIGGER recovery_codes_single_use BEFORE UPDATE ON recovery_codes FOR EACH ROW EXECUTE FUNCTION refuse_reuse();

-- The TOTP time steps each user has signed in with: a code is accepted once, even inside its window.
CREATE TABLE totp_used_steps (
  user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  step bigint NOT NULL,
  used_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, step)
);

-- Sign-in attempts per account and per address, counted before the password is checked by one upsert,
-- so concurrent guesses are counted one by one. Subjects are SHA-256 (an attempt may name any email);
-- the account's is taken by `sign_in_account()` of the email as typed, so case and spaces make no other subject.
CREATE TABLE sign_in_throttle (
  kind text NOT NULL CHECK (kind IN ('account', 'address')),
  subject text NOT NULL CHECK (subject ~ '^[0-9a-f]{64}$'),
  attempts integer NOT NULL CHECK (attempts > 0),
  window_started_at timestamptz NOT NULL,
  PRIMARY KEY (kind, subject)
);

CREATE FUNCTION sign_in_account(email text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT encode(sha256(convert_to(lower(btrim(email)), 'UTF8')), 'hex') $$;

-- Every change of access. Actors and targets are user ids or key ids, addresses are hashed.
CREATE TABLE audit_log (
  seq bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  action text NOT NULL,
  actor text,
  target text,
  practice_id text,
  address_hash text,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_time ON audit_log (at);

CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'P0003'; END $$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change()
