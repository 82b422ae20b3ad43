-- A sandbox that was deleted (by a request) or expired (its TTL deleted it) is remembered for the
-- daemon's tombstoneRetentionSeconds: GET answers 404 SANDBOX_DELETED or SANDBOX_EXPIRED with when
-- and why, and its events stay readable. reason is DELETED or EXPIRED, expired_at its TTL deadline.
CREATE TABLE sandbox_tombstones (
  id              TEXT PRIMARY KEY,
  template        TEXT NOT NULL,
  reason          TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  ended_at        INTEGER NOT NULL,
  expired_at      INTEGER,
  timeout_seconds INTEGER NOT NULL,
  purge_at        INTEGER NOT NULL
);
CREATE INDEX sandbox_tombstones_purge ON sandbox_tombstones(purge_at);

-- Events outlive their sandbox row now, so they lose the foreign key that deleted them with it
-- (SQLite cannot drop a constraint in place: the table is made again). The repositories delete
-- them with the sandbox when no tombstone is kept, and with the tombstone when it is purged.
CREATE TABLE sandbox_events_v6 (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  sandbox_id  TEXT NOT NULL,
  at          INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  message     TEXT NOT NULL
);
INSERT INTO sandbox_events_v6 (seq, sandbox_id, at, kind, message) SELECT seq, sandbox_id, at, kind, message FROM sandbox_events;
DROP TABLE sandbox_events;
ALTER TABLE sandbox_events_v6 RENAME TO sandbox_events;
CREATE INDEX sandbox_events_sandbox ON sandbox_events(sandbox_id, seq);
