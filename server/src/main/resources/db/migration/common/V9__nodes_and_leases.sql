-- The hosts that run VMs (a single host's combined daemon is one) and the leases by which one
-- daemon at a time leads the cluster's background jobs. Plain SQL that SQLite and PostgreSQL read
-- alike: TEXT, BIGINT times (epoch ms), 0/1 integers for flags.
CREATE TABLE nodes (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  api_url       TEXT NOT NULL,
  role          TEXT NOT NULL CONSTRAINT nodes_role CHECK (role IN ('COMBINED', 'NODE')),
  state         TEXT NOT NULL CONSTRAINT nodes_state CHECK (state IN ('UP', 'DOWN')),
  cordoned      INTEGER NOT NULL DEFAULT 0 CONSTRAINT nodes_cordoned CHECK (cordoned IN (0, 1)),
  capacity_json TEXT NOT NULL,
  registered_at BIGINT NOT NULL,
  heartbeat_at  BIGINT NOT NULL,
  down_reason   TEXT
);

-- A job's lease: held by `holder` until `expires_at`; renewed by its holder, taken by another once expired.
CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
