-- A node's drain (docs/adr/0019): its progress as JSON, written by the node as it moves its
-- sandboxes away, read by any control instance for GET /v1/nodes/{id}. One row per node: its last drain.
CREATE TABLE node_drains (
  node_id    TEXT PRIMARY KEY,
  drain_json TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
