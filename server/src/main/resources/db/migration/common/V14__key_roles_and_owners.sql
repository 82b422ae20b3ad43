-- Key roles, per-key limits and ownership (docs/adr/0022). Keys made before roles could do
-- everything, so they stay admins; a new key is a user unless made an admin. A limit left NULL is
-- no limit. prefix: the key's first characters, shown by a list to tell keys apart (a 256-bit key
-- minus 8 hex digits is still far beyond guessing). revoked_at: a revoked key is refused from the
-- next request on, and kept so that what it owned still names it.
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'ADMIN';
ALTER TABLE api_keys ADD COLUMN prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN revoked_at BIGINT;
ALTER TABLE api_keys ADD COLUMN max_sandboxes BIGINT;
ALTER TABLE api_keys ADD COLUMN max_vcpus BIGINT;
ALTER TABLE api_keys ADD COLUMN max_memory_mib BIGINT;
ALTER TABLE api_keys ADD COLUMN max_templates BIGINT;

-- The key that made a sandbox (its id; '' for one made before owners, which only admins see).
-- A tombstone keeps it, so that another key learns nothing from a deleted sandbox's id either.
ALTER TABLE sandboxes ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX sandboxes_owner ON sandboxes(owner);
ALTER TABLE sandbox_tombstones ADD COLUMN owner TEXT NOT NULL DEFAULT '';

-- The user key that built a template; '' for the operator's (built with an admin key, imported on
-- the host, or made before owners), which every key may use and only admins change.
ALTER TABLE templates ADD COLUMN owner TEXT NOT NULL DEFAULT '';
