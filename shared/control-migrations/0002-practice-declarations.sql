-- Declared custom events (names, property keys and values) and path templates per practice (issue 16).
-- Existing practices start with none: their undeclared events count as '(undeclared)'.
ALTER TABLE practices ADD COLUMN events jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE practices ADD COLUMN path_templates jsonb NOT NULL DEFAULT '[]'::jsonb;
