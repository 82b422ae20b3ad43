-- sandboxes.state may only hold a SandboxState name, and every state change bumps version, so a
-- reader can tell that a row changed since it read it even if its state came back to the same value.
-- root_disk_bytes is the root disk's virtual size, recorded when the disk is made, so listing
-- sandboxes reads no qcow2 header (NULL for rows older than this column until it is recorded).
-- Times and sizes are declared BIGINT: the same in SQLite (INTEGER affinity, 64-bit), and what a
-- PostgreSQL schema needs (its INTEGER is 32-bit).
--
-- SQLite cannot add a CHECK to a table in place: the table is made again, as SQLite's ALTER TABLE
-- page describes. This runs with foreign_keys OFF (Migrations opens its connection so): with them
-- on, DROP TABLE sandboxes would delete every checkpoint and network row through their ON DELETE
-- CASCADE. The new table is renamed into place (never the old one renamed away, which would make
-- the children's REFERENCES follow it), and Migrations runs PRAGMA foreign_key_check afterwards.
-- SQLite-specific; PostgreSQL's equivalent is ALTER TABLE … ADD COLUMN / ADD CONSTRAINT.
CREATE TABLE sandboxes_v7 (
  id              TEXT PRIMARY KEY,
  template        TEXT NOT NULL REFERENCES templates(name),
  state           TEXT NOT NULL CONSTRAINT sandboxes_state CHECK (state IN ('CREATING', 'RUNNING', 'PAUSED', 'STOPPED', 'STOPPING', 'ERROR')),
  vcpus           INTEGER NOT NULL,
  memory_mib      BIGINT NOT NULL,
  timeout_seconds BIGINT NOT NULL,
  env_json        TEXT NOT NULL,
  metadata_json   TEXT NOT NULL,
  vm_json         TEXT,
  pid             BIGINT,
  error           TEXT,
  created_at      BIGINT NOT NULL,
  expires_at      BIGINT,
  on_timeout      TEXT NOT NULL DEFAULT 'DELETE',
  version         BIGINT NOT NULL DEFAULT 0,
  root_disk_bytes BIGINT
);
INSERT INTO sandboxes_v7 (id, template, state, vcpus, memory_mib, timeout_seconds, env_json, metadata_json, vm_json, pid, error, created_at,
    expires_at, on_timeout)
  SELECT id, template, state, vcpus, memory_mib, timeout_seconds, env_json, metadata_json, vm_json, pid, error, created_at, expires_at, on_timeout
  FROM sandboxes;
DROP TABLE sandboxes;
ALTER TABLE sandboxes_v7 RENAME TO sandboxes;
CREATE INDEX sandboxes_template ON sandboxes(template);
