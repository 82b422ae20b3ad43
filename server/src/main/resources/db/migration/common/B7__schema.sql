-- Kiln's schema at version 7, for SQLite and PostgreSQL alike: what a new database is made with.
-- (SQLite files made before this baseline got the same tables from the SQLite-only scripts V1-V7 in
-- db/migration/sqlite; MigrationsTest checks that the two agree.) Scripts after it are V8__… in this
-- folder, in SQL both databases accept; a difference between them is a Flyway placeholder
-- (Dialect.placeholders). Times are epoch milliseconds (UTC) and sizes bytes or MiB, in BIGINT
-- columns: 64-bit in both (SQLite's INTEGER affinity; PostgreSQL's INTEGER would be 32-bit).

CREATE TABLE templates (
  name           TEXT PRIMARY KEY,
  status         TEXT NOT NULL,
  source         TEXT NOT NULL,
  rootfs_path    TEXT,
  rootfs_bytes   BIGINT,
  error          TEXT,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL,
  -- The manifest digest a template was built from (a rebuild of the same digest reuses the image),
  -- the image config that sets exec defaults, and the free space asked for.
  image_digest   TEXT,
  config_json    TEXT,
  free_space_mib BIGINT NOT NULL DEFAULT 512
);
CREATE INDEX templates_image_digest ON templates(image_digest);

-- state may only hold a SandboxState name, and every state change bumps version (compare-and-set).
-- on_timeout: what the TTL does, DELETE or PAUSE. root_disk_bytes: the root disk's virtual size,
-- recorded when the disk is made, so listing sandboxes reads no qcow2 header.
CREATE TABLE sandboxes (
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
CREATE INDEX sandboxes_template ON sandboxes(template);

CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,
  sha256      TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  created_at  BIGINT NOT NULL
);

-- Checkpoints: a sandbox's VM state (a file under checkpoints/) and its disk frozen at the same
-- instant (a read-only layer under disks/, shared by forks made from it). They go with their sandbox.
CREATE TABLE checkpoints (
  id            TEXT PRIMARY KEY,
  sandbox_id    TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  disk_path     TEXT NOT NULL,
  state_bytes   BIGINT NOT NULL,
  state_sha256  TEXT NOT NULL,
  vm_json       TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  UNIQUE (sandbox_id, name)
);

-- What happened to a sandbox, for its owner and the operator; bounded per sandbox by the code that
-- appends. Events outlive their sandbox row (a tombstone keeps them), so no foreign key: the
-- repositories delete them with the sandbox when no tombstone is kept, and with the tombstone.
CREATE TABLE sandbox_events (
  seq         ${serial_pk},
  sandbox_id  TEXT NOT NULL,
  at          BIGINT NOT NULL,
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

-- A sandbox's network: the namespace slot it holds (its addresses follow from the slot number and
-- the daemon's address pool), what its owner asked for, the token its proxied ports need (NULL:
-- public), and its raw TCP forwards. A sandbox without a row here has no network device.
CREATE TABLE sandbox_networks (
  sandbox_id    TEXT PRIMARY KEY REFERENCES sandboxes(id) ON DELETE CASCADE,
  slot          INTEGER NOT NULL UNIQUE,
  spec_json     TEXT NOT NULL,
  access_token  TEXT,
  forwards_json TEXT NOT NULL DEFAULT '[]'
);

-- A deleted or expired sandbox, remembered for the daemon's tombstoneRetentionSeconds. reason is
-- DELETED or EXPIRED, expired_at its TTL deadline.
CREATE TABLE sandbox_tombstones (
  id              TEXT PRIMARY KEY,
  template        TEXT NOT NULL,
  reason          TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  ended_at        BIGINT NOT NULL,
  expired_at      BIGINT,
  timeout_seconds BIGINT NOT NULL,
  purge_at        BIGINT NOT NULL
);
CREATE INDEX sandbox_tombstones_purge ON sandbox_tombstones(purge_at);
