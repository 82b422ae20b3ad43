-- Dockerfile builds' step cache (docs/adr/0025): each step's result, a disk layer (or, for a FROM
-- of an image, the image) in this node's data directory, under the key of everything the step
-- depends on. Rows are a node's own: another node has neither the files nor the chain below them.
CREATE TABLE build_cache (
  node_id    TEXT NOT NULL,
  step_key   TEXT NOT NULL,
  disk_path  TEXT NOT NULL,
  bytes      BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  used_at    BIGINT NOT NULL,
  PRIMARY KEY (node_id, step_key)
);
