-- Templates from OCI images: the manifest digest they were built from (a rebuild of the same
-- digest reuses the image), the image config that sets exec defaults, and the free space asked for.
ALTER TABLE templates ADD COLUMN image_digest TEXT;
ALTER TABLE templates ADD COLUMN config_json TEXT;
ALTER TABLE templates ADD COLUMN free_space_mib INTEGER NOT NULL DEFAULT 512;
CREATE INDEX templates_image_digest ON templates(image_digest);
