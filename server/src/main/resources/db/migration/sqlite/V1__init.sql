-- Kiln state, SQLite. Times are epoch milliseconds (UTC).
CREATE TABLE templates (
  name          TEXT PRIMARY KEY,
  status        TEXT NOT NULL,
  source        TEXT NOT NULL,
  rootfs_path   TEXT,
  rootfs_bytes  INTEGER,
  error         TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

CREATE TABLE sandboxes (
  id              TEXT PRIMARY KEY,
  template        TEXT NOT NULL REFERENCES templates(name),
  state           TEXT NOT NULL,
  vcpus           INTEGER NOT NULL,
  memory_mib      INTEGER NOT NULL,
  timeout_seconds INTEGER NOT NULL,
  env_json        TEXT NOT NULL,
  metadata_json   TEXT NOT NULL,
  vm_json         TEXT,
  pid             INTEGER,
  error           TEXT,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER
);
CREATE INDEX sandboxes_template ON sandboxes(template);

CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,
  sha256      TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
