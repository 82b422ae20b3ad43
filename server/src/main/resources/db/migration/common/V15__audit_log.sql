-- The audit trail (docs/adr/0023): who did what, append-only and tamper-evident. Each daemon
-- appends to a chain of its own (its node id, or a control instance's), so appends never contend
-- across processes; within a chain, seq counts from 1 without a gap and each record's hash covers
-- the hash before it, so a record removed or altered breaks the chain at that point.
-- detail_json: what the action was about (argv, exit code, path, size, sha256, rules…), bounded.
CREATE TABLE audit_log (
  chain       TEXT NOT NULL,
  seq         BIGINT NOT NULL,
  at          BIGINT NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  sandbox_id  TEXT NOT NULL,
  status      INTEGER NOT NULL,
  detail_json TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL,
  PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_sandbox ON audit_log(sandbox_id, at);
