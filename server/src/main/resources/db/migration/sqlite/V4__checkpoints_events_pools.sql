-- Checkpoints: a sandbox's VM state (a file under checkpoints/) and its disk frozen at the same
-- instant (a read-only layer under disks/, shared by forks made from it). They go with their sandbox.
CREATE TABLE checkpoints (
  id            TEXT PRIMARY KEY,
  sandbox_id    TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  disk_path     TEXT NOT NULL,
  state_bytes   INTEGER NOT NULL,
  state_sha256  TEXT NOT NULL,
  vm_json       TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  UNIQUE (sandbox_id, name)
);

-- What happened to a sandbox, for its owner and the operator: created how, paused, restored,
-- fell back to a cold boot and why. Bounded per sandbox by the code that appends.
CREATE TABLE sandbox_events (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
  at          INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  message     TEXT NOT NULL
);
CREATE INDEX sandbox_events_sandbox ON sandbox_events(sandbox_id, seq);

-- Warm pools: how many restored, paused VMs to keep ready per template.
CREATE TABLE pools (
  template    TEXT PRIMARY KEY REFERENCES templates(name) ON DELETE CASCADE,
  min_ready   INTEGER NOT NULL,
  max_ready   INTEGER NOT NULL
);
