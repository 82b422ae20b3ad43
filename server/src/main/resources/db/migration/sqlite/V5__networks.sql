-- A sandbox's network: the namespace slot it holds (its addresses follow from the slot number and
-- the daemon's address pool), what its owner asked for (mode, egress rules, group, limits), the
-- token its proxied ports need (NULL: public), and its raw TCP forwards. A sandbox without a row
-- here has no network device.
CREATE TABLE sandbox_networks (
  sandbox_id    TEXT PRIMARY KEY REFERENCES sandboxes(id) ON DELETE CASCADE,
  slot          INTEGER NOT NULL UNIQUE,
  spec_json     TEXT NOT NULL,
  access_token  TEXT,
  forwards_json TEXT NOT NULL DEFAULT '[]'
);
