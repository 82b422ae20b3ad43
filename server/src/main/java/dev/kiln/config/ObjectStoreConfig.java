package dev.kiln.config;

import java.net.URI;
import java.nio.file.Path;

/**
 * Where a cluster keeps template artifacts and saved states: an S3-compatible bucket, or a
 * directory every node mounts. Without either (the default) artifacts stay local files under the
 * data directory, as on one host. Each key's
 * description and range: its {@link ConfigDoc}, published as docs/config.md.
 */
public record ObjectStoreConfig(
    @ConfigDoc("the bucket a cluster keeps template images and snapshots in; none keeps them as local files under the data directory (one host)")
    String bucket,
    @ConfigDoc(value = "URL of an S3-compatible store (MinIO, Ceph, Garage, s3proxy…)", range = "http(s)://host[:port]", defaultText = "AWS S3 in `region`")
    String endpoint,
    @ConfigDoc(value = "the bucket's region (stores without regions accept any)", defaultText = "`\"us-east-1\"`")
    String region,
    @ConfigDoc(value = "put before every key, so that several clusters can share one bucket", range = "`\"\"` or segments ending with `/`", defaultText = "`\"\"`")
    String prefix,
    @ConfigDoc(value = "address the bucket as `<endpoint>/<bucket>` rather than `<bucket>.<endpoint>`; most S3-compatible stores need it", defaultText = "true with an `endpoint`, false for AWS")
    Boolean pathStyle,
    @ConfigDoc(value = "an AWS credentials file (`aws_access_key_id`, `aws_secret_access_key` under `[default]`); the keys are never logged", defaultText = "AWS's usual chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, the instance's role")
    Path credentialsFile,
    @ConfigDoc(value = "GiB of a node's disk for local copies of template artifacts fetched from the bucket; over it, the least recently used copy of an artifact nothing on the node reaches any more is removed first (a template's current image and snapshots are kept while it exists), and the log says when what is kept exceeds it", range = "1..65536")
    int cacheGib,
    @ConfigDoc(value = "instead of a bucket, a directory every node of the cluster mounts (a shared volume, NFS) used as one; objects are written whole (temp file, fsync, rename) with their checksums beside them", defaultText = "none")
    Path directory) {
  public static final ObjectStoreConfig NONE = new ObjectStoreConfig(null, null, null, null, null, null, 0, null);
  /** A few templates' images and RAM files; a node with less disk says so. */
  static final int DEFAULT_CACHE_GIB = 32;

  public ObjectStoreConfig {
    if (bucket != null && directory != null) {
      throw new IllegalArgumentException("objectStore has both a bucket and a directory: give one");
    }
    if (directory != null && !directory.isAbsolute()) {
      throw new IllegalArgumentException("objectStore.directory must be an absolute path, got '" + directory + "'");
    }
    if (bucket == null && (endpoint != null || region != null || prefix != null || pathStyle != null || credentialsFile != null)) {
      throw new IllegalArgumentException("objectStore.bucket is missing: the other objectStore keys only apply to a bucket");
    }
    if (bucket != null && !bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
      throw new IllegalArgumentException("objectStore.bucket must be an S3 bucket name (3..63 of a-z, 0-9, '.', '-'), got '" + bucket + "'");
    }
    if (endpoint != null) {
      URI u;
      try {
        u = URI.create(endpoint);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("objectStore.endpoint must be a URL like http://host:port, got '" + endpoint + "'");
      }
      if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
        throw new IllegalArgumentException("objectStore.endpoint must be an http:// or https:// URL with a host, got '" + endpoint + "'");
      }
    }
    // Without a bucket nothing else is filled in: the section stays as empty as it was given.
    if (bucket != null) {
      if (region == null) region = "us-east-1";
      if (prefix == null) prefix = "";
      if (!prefix.matches("([A-Za-z0-9_][A-Za-z0-9._-]*/)*")) {
        throw new IllegalArgumentException("objectStore.prefix must be \"\" or key segments each ending with '/' (\"kiln/prod/\"), got '" + prefix + "'");
      }
      if (pathStyle == null) pathStyle = endpoint != null;
    }
    if (cacheGib == 0) cacheGib = DEFAULT_CACHE_GIB;
    if (cacheGib < 1 || cacheGib > 65536) throw new IllegalArgumentException("objectStore.cacheGib must be 1..65536, got " + cacheGib);
  }

  /** Whether artifacts live in a bucket or a shared directory (a cluster) rather than in local files. */
  public boolean enabled() {
    return bucket != null || directory != null;
  }

  public static ObjectStoreConfig directory(Path dir) {
    return new ObjectStoreConfig(null, null, null, null, null, null, 0, dir);
  }
}
