-- What the TTL does to a sandbox: DELETE it (the default) or PAUSE it (a data-plane request or an
-- explicit resume brings it back, with a fresh TTL).
ALTER TABLE sandboxes ADD COLUMN on_timeout TEXT NOT NULL DEFAULT 'DELETE';
