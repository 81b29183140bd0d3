-- Partner releases that are differentially private in fact (issue 17): one release per month, shared
-- by every partner, charged once to one yearly budget, over a practice set frozen at the month's end.

-- The claim: the primary key lets one process make a month's release; every other one, and every
-- partner, is served this row. The row is also the budget charge (epsilon_micro), so claim and charge
-- commit together or not at all.
CREATE TABLE monthly_releases (
  month text PRIMARY KEY CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  release_id text NOT NULL UNIQUE,
  year integer NOT NULL,
  epsilon_micro bigint NOT NULL CHECK (epsilon_micro > 0),
  practice_ids text[] NOT NULL,
  manifest text NOT NULL,
  body_csv text NOT NULL,
  body_ndjson text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monthly_releases_by_year ON monthly_releases (year);

-- Which partner was served which month's release, and when first (an audit trail; no budget effect).
CREATE TABLE release_deliveries (
  month text NOT NULL REFERENCES monthly_releases (month),
  partner_id text NOT NULL REFERENCES partners (partner_id),
  first_served_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (month, partner_id)
);

-- Each practice's sharing and cookie-mode settings over time, so that a month's practice set is the
-- one in force when the month ended, not when a partner asks. Rows before this migration are unknown:
-- the state at migration time stands for all earlier time (-infinity).
CREATE TABLE practice_settings_history (
  seq bigserial PRIMARY KEY,
  practice_id text NOT NULL,
  share_with_partners boolean NOT NULL,
  cookie_mode boolean NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX practice_settings_history_by_practice ON practice_settings_history (practice_id, changed_at);

INSERT INTO practice_settings_history (practice_id, share_with_partners, cookie_mode, changed_at)
SELECT practice_id, share_with_partners, cookie_mode, '-infinity' FROM practices;

-- Written by the database itself, whichever process or tool changes a practice.
CREATE FUNCTION record_practice_settings() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' OR NEW.share_with_partners IS DISTINCT FROM OLD.share_with_partners OR NEW.cookie_mode IS DISTINCT FROM OLD.cookie_mode THEN INSERT INTO practice_settings_history (practice_id, share_with_partners, cookie_mode) VALUES (NEW.practice_id, NEW.share_with_partners, NEW.cookie_mode); END IF; RETURN NEW; END $$;

CREATE TRIGGER practice_settings_recorded AFTER INSERT OR UPDATE OF share_with_partners, cookie_mode ON practices
FOR EACH ROW EXECUTE FUNCTION record_practice_settings();
