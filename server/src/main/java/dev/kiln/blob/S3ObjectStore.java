package dev.kiln.blob;

import dev.kiln.blob.ObjectStoreException.Problem;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Objects in an S3-compatible bucket, under an optional key prefix. The SHA-256 and size are the
 * object's user metadata ({@code x-amz-meta-kiln-sha256}), written by the same request that
 * creates the object, so they appear and go with it.
 *
 * <p>A file up to one part ({@link #DEFAULT_PART_SIZE}) is one PUT; a bigger one a multipart
 * upload ({@link S3Multipart}), which S3 shows under the key only when completed: on any failure
 * the upload is aborted (its parts deleted) and nothing was ever visible; one a crash left is
 * resumed by the next put of the key. Every part carries the Content-MD5 read before
 * the upload began ({@link FileDigest}), so a file that changes during the upload fails it.
 */
public final class S3ObjectStore implements ObjectStore {
  private static final Logger log = LoggerFactory.getLogger(S3ObjectStore.class);
  /**
   * 64 MiB: S3 wants parts of 5 MiB .. 5 GiB and at most 10,000 of them, so objects up to 640 GiB;
   * a template's image or RAM file is a few GiB, a few dozen parts.
   */
  public static final long DEFAULT_PART_SIZE = 64L << 20;
  /** S3's smallest part but the last. */
  static final long MIN_PART_SIZE = 5L << 20;
  static final String SHA256 = "kiln-sha256";

  private final S3Client s3;
  private final String bucket;
  private final String prefix;
  private final String endpoint;
  private final long partSize;
  private final TransferFaults faults;
  private final S3Errors errors;

  /**
   * @param prefix   prepended to every key ("" or ending with '/'), so several clusters can share a bucket
   * @param endpoint the endpoint's URL, for messages
   */
  S3ObjectStore(S3Client s3, String bucket, String prefix, String endpoint, long partSize, TransferFaults faults) {
    if (partSize < MIN_PART_SIZE) throw new IllegalArgumentException("part size must be at least 5 MiB (S3's minimum), got " + partSize);
    if (!prefix.isEmpty() && !prefix.endsWith("/")) throw new IllegalArgumentException("a key prefix ends with '/', got '" + prefix + "'");
    this.s3 = s3;
    this.bucket = bucket;
    this.prefix = ObjectKey.validPrefix(prefix);
    this.endpoint = endpoint;
    this.partSize = partSize;
    this.faults = faults;
    this.errors = new S3Errors(bucket, endpoint);
  }

  private String s3Key(ObjectKey key) {
    return prefix + key.value();
  }

  @Override
  public ObjectInfo put(ObjectKey key, Path file) {
    FileDigest d = FileDigest.of(file, partSize);
    Map<String, String> meta = Map.of(SHA256, d.sha256());
    if (d.partMd5s().size() == 1) {
      try {
        s3.putObject(b -> b.bucket(bucket).key(s3Key(key)).metadata(meta).contentLength(d.size()).contentMD5(d.partMd5s().getFirst()),
            RequestBody.fromContentProvider(() -> FileSlice.open(file, 0, d.size()), d.size(), "application/octet-stream"));
      } catch (SdkException e) {
        throw changedOr(e, "put " + key, file);
      }
    } else {
      multipart(key, file, d, meta);
    }
    return new ObjectInfo(key, d.size(), d.sha256());
  }

  /**
   * A multipart upload ({@link S3Multipart}). One that resumed what a crash left carries the
   * checksum its first attempt recorded: if that is not this file's (the file changed in between),
   * the object is uploaded again whole.
   */
  private void multipart(ObjectKey key, Path file, FileDigest d, Map<String, String> meta) {
    S3Multipart upload = new S3Multipart(s3, bucket, s3Key(key), partSize, faults, key + " to " + describe());
    try {
      if (upload.upload(file, d, meta, true)) {
        Optional<ObjectInfo> now = head(key);
        if (now.isEmpty() || !now.get().sha256().equals(d.sha256())) {
          log.warn("resumed upload of {} to {} came out with another file's checksum; uploading it again whole", key, describe());
          upload.upload(file, d, meta, false);
        }
      }
    } catch (SdkException e) {
      throw changedOr(e, "upload " + key, file);
    } catch (ObjectStoreException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new ObjectStoreException(Problem.LOCAL_FILE, "upload of " + file + " as " + key + " to " + describe() + " failed: " + Messages.of(e), e);
    }
  }

  /** A part refused for its digest is a file that changed after it was read; anything else is the store's answer. */
  private ObjectStoreException changedOr(SdkException e, String doing, Path file) {
    if (e instanceof S3Exception s && s.awsErrorDetails() != null && "BadDigest".equals(s.awsErrorDetails().errorCode())) {
      return new ObjectStoreException(Problem.LOCAL_FILE, "cannot " + doing + ": " + file + " changed while it was uploaded; nothing was stored", e);
    }
    return errors.map(e, doing);
  }

  @Override
  public ObjectInfo get(ObjectKey key, Path target) {
    try (ResponseInputStream<GetObjectResponse> body = s3.getObject(b -> b.bucket(bucket).key(s3Key(key)))) {
      ObjectInfo info = recorded(key, body.response().metadata(), body.response().contentLength());
      try {
        return VerifiedWrite.write(faults.received(body), target, info, describe());
      } catch (ObjectStoreException e) {
        body.abort(); // do not drain the rest of a refused body to reuse the connection
        throw e;
      }
    } catch (SdkException e) {
      throw errors.map(e, "get " + key);
    } catch (IOException e) {
      throw new ObjectStoreException(Problem.UNREACHABLE, "download of " + key + " from " + describe() + " failed: " + Messages.of(e), e);
    }
  }

  private ObjectInfo recorded(ObjectKey key, Map<String, String> metadata, Long size) {
    String sha = metadata.get(SHA256);
    if (sha == null) throw new ObjectStoreException(Problem.CORRUPT, "object " + key + " in " + describe() + " has no recorded checksum (not put by Kiln)");
    try {
      return new ObjectInfo(key, size, sha);
    } catch (IllegalArgumentException e) {
      throw new ObjectStoreException(Problem.CORRUPT, "object " + key + " in " + describe() + " has an unreadable checksum '" + sha + "'");
    }
  }

  @Override
  public Optional<ObjectInfo> head(ObjectKey key) {
    try {
      HeadObjectResponse r = s3.headObject(b -> b.bucket(bucket).key(s3Key(key)));
      return Optional.of(recorded(key, r.metadata(), r.contentLength()));
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (S3Exception e) {
      // A HEAD's 404 has no body: it is a missing key here, and check() tells a missing bucket.
      if (e.statusCode() == 404) return Optional.empty();
      throw errors.map(e, "look up " + key);
    } catch (SdkException e) {
      throw errors.map(e, "look up " + key);
    }
  }

  @Override
  public Page list(String keyPrefix, Optional<String> token, int pageSize) {
    ObjectKey.validPrefix(keyPrefix);
    if (pageSize < 1 || pageSize > 1000) throw new IllegalArgumentException("pageSize must be 1..1000, got " + pageSize);
    ListObjectsV2Response r;
    try {
      r = s3.listObjectsV2(b -> b.bucket(bucket).prefix(prefix + keyPrefix).maxKeys(pageSize).continuationToken(token.orElse(null)));
    } catch (SdkException e) {
      throw errors.map(e, "list keys under '" + keyPrefix + "'");
    }
    List<ObjectKey> keys = new ArrayList<>();
    for (S3Object o : r.contents()) {
      String k = o.key().substring(prefix.length());
      try {
        keys.add(new ObjectKey(k));
      } catch (IllegalArgumentException e) {
        log.debug("{} holds '{}', which is no Kiln key: not listed", describe(), o.key());
      }
    }
    return new Page(keys, Boolean.TRUE.equals(r.isTruncated()) ? Optional.ofNullable(r.nextContinuationToken()) : Optional.empty());
  }

  @Override
  public void delete(ObjectKey key) {
    try {
      s3.deleteObject(b -> b.bucket(bucket).key(s3Key(key)));
    } catch (SdkException e) {
      throw errors.map(e, "delete " + key);
    }
  }

  @Override
  public void check() {
    try {
      s3.headBucket(b -> b.bucket(bucket));
    } catch (S3Exception e) {
      if (e.statusCode() == 404) throw new ObjectStoreException(Problem.BUCKET_MISSING, "bucket '" + bucket + "' does not exist at " + endpoint, e);
      throw errors.map(e, "open the bucket");
    } catch (SdkException e) {
      throw errors.map(e, "open the bucket");
    }
  }

  @Override
  public String describe() {
    return "bucket '" + bucket + "'" + (prefix.isEmpty() ? "" : " (prefix '" + prefix + "')") + " at " + endpoint;
  }

  @Override
  public void close() {
    s3.close();
  }
}
