-- Cluster roles (docs/adr/0017). Each sandbox runs on one node; '' marks a row written before
-- nodes existed, which the first node that recovers from this database claims (a one-host install
-- is a cluster of one combined node).
ALTER TABLE sandboxes ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
CREATE INDEX sandboxes_node ON sandboxes(node_id);

-- What control instances need to reach a node: the credential they present to its internal API
-- and port proxy (a node makes a new one at each start; users' API keys never work there), and
-- where its port proxy listens.
ALTER TABLE nodes ADD COLUMN credential TEXT;
ALTER TABLE nodes ADD COLUMN proxy_url TEXT;

-- A namespace slot is a node's (its addresses come from that node's pool): unique per node, not per
-- cluster. Rebuilt rather than altered, since SQLite cannot drop a UNIQUE constraint.
CREATE TABLE sandbox_networks_on_nodes (
  sandbox_id    TEXT PRIMARY KEY REFERENCES sandboxes(id) ON DELETE CASCADE,
  node_id       TEXT NOT NULL DEFAULT '',
  slot          INTEGER NOT NULL,
  spec_json     TEXT NOT NULL,
  access_token  TEXT,
  forwards_json TEXT NOT NULL DEFAULT '[]',
  CONSTRAINT sandbox_networks_node_slot UNIQUE (node_id, slot)
);
INSERT INTO sandbox_networks_on_nodes (sandbox_id, node_id, slot, spec_json, access_token, forwards_json)
  SELECT n.sandbox_id, s.node_id, n.slot, n.spec_json, n.access_token, n.forwards_json FROM sandbox_networks n JOIN sandboxes s ON s.id = n.sandbox_id;
DROP TABLE sandbox_networks;
ALTER TABLE sandbox_networks_on_nodes RENAME TO sandbox_networks;
