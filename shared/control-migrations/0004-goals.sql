-- Goals per practice (issue 18): what the processor counts as a conversion. A goal is a page pattern,
-- a count-only page class, or a declared event with an optional property value; `definition` holds
-- the goal as the goal schema (shared/src/contracts/goal.ts) describes it. A change bumps the
-- practice's revision, so collectors and processors reload it like any practice change.
CREATE TABLE goals (
  practice_id text NOT NULL REFERENCES practices (practice_id) ON DELETE CASCADE,
  goal_id text NOT NULL CHECK (goal_id ~ '^[a-z0-9][a-z0-9-]{0,40}$'),
  definition jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (practice_id, goal_id)
);
