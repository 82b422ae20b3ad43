-- Each template's current snapshots, by artifact id (artifacts/snapshots/<id>, on any node): without
-- and with a network device. Before, they were pointer files in each node's data directory
-- (templates/<name>/snapshot[-net].json), which other nodes of a cluster could not see; a daemon
-- takes its files over at start (image.SnapshotPointers). NULL: none recorded (a template from
-- before artifacts may still have its legacy templates/<name>/snapshot[-net]/ directory).
-- ADD COLUMN of a nullable column is the same statement in SQLite and PostgreSQL.
ALTER TABLE templates ADD COLUMN snapshot_id TEXT;
ALTER TABLE templates ADD COLUMN snapshot_net_id TEXT;
