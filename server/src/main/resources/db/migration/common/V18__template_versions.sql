-- Template versions (#17): every build of a name that ends built is an immutable version, so
-- NAME:VERSION names it for good and NAME the latest one, also while a rebuild runs or after one
-- failed. A version is removed once it is not the latest, not pinned, and no sandbox was made
-- from it; its image then goes with the collection of unused artifacts.
CREATE TABLE template_versions (
  name           TEXT NOT NULL,
  version        INTEGER NOT NULL,
  source         TEXT NOT NULL,
  rootfs_path    TEXT NOT NULL,
  rootfs_bytes   BIGINT,
  image_digest   TEXT,
  config_json    TEXT,
  free_space_mib BIGINT NOT NULL,
  machine        TEXT NOT NULL,
  owner          TEXT NOT NULL,
  pinned         INTEGER NOT NULL DEFAULT 0,
  created_at     BIGINT NOT NULL,
  PRIMARY KEY (name, version)
);

-- The version a sandbox was made from (0: made before versions, or from a template without one).
ALTER TABLE sandboxes ADD COLUMN template_version INTEGER NOT NULL DEFAULT 0;
