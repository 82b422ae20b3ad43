-- The machine a template's snapshot is taken on, and the default machine of its sandboxes:
-- 'MICROVM' or 'Q35' (vmm.Machine names). Templates from before this column are microvm ones.
-- ADD COLUMN with a constant default and a CHECK is the same statement in SQLite and PostgreSQL.
ALTER TABLE templates ADD COLUMN machine TEXT NOT NULL DEFAULT 'MICROVM' CONSTRAINT templates_machine CHECK (machine IN ('MICROVM', 'Q35'));
