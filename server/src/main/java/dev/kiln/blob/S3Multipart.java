package dev.kiln.blob;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.ListPartsResponse;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.Part;

/**
 * The multipart upload of one file to one key. S3 shows the object only once the upload is
 * completed; a failure in this process aborts the upload (its parts are deleted). An upload a
 * crash left behind for the same key is resumed: its parts whose size and MD5 (a part's ETag) are
 * this file's are kept, the others sent; a leftover whose parts are not this file's is aborted.
 * A resumed upload carries the SHA-256 its first attempt recorded, so the caller checks it after
 * completion ({@link S3ObjectStore}). Kiln writes a key from one place at a time (artifact ids are
 * random): a leftover is never another writer's upload in progress.
 */
final class S3Multipart {
  private static final Logger log = LoggerFactory.getLogger(S3Multipart.class);
  private final S3Client s3;
  private final String bucket;
  private final String s3Key;
  private final long partSize;
  private final TransferFaults faults;
  /** "images/x/rootfs.ext4 to bucket 'b' at …", for the log. */
  private final String what;

  S3Multipart(S3Client s3, String bucket, String s3Key, long partSize, TransferFaults faults, String what) {
    this.s3 = s3;
    this.bucket = bucket;
    this.s3Key = s3Key;
    this.partSize = partSize;
    this.faults = faults;
    this.what = what;
  }

  private record Leftover(String uploadId, Map<Integer, String> parts) {}

  /**
   * Uploads {@code file}; {@code mayResume} lets it take up an upload a crash left.
   *
   * @return whether it did: the object then carries the checksum of that first attempt
   * @throws IOException, SdkException or any other failure after aborting the upload
   */
  boolean upload(Path file, FileDigest d, Map<String, String> meta, boolean mayResume) throws IOException {
    Optional<Leftover> leftover = mayResume ? leftover(d) : Optional.empty();
    String uploadId = leftover.isPresent() ? leftover.get().uploadId()
        : s3.createMultipartUpload(b -> b.bucket(bucket).key(s3Key).metadata(meta)).uploadId();
    Map<Integer, String> done = leftover.map(Leftover::parts).orElse(Map.of());
    if (leftover.isPresent()) log.info("resuming the upload of {}: {} of {} parts are there", what, done.size(), d.partMd5s().size());
    try {
      List<CompletedPart> parts = new ArrayList<>();
      for (int i = 0; i < d.partMd5s().size(); i++) {
        int number = i + 1;
        String etag = done.get(number);
        if (etag == null) {
          long offset = i * partSize;
          long length = length(i, d);
          String md5 = d.partMd5s().get(i);
          etag = s3.uploadPart(b -> b.bucket(bucket).key(s3Key).uploadId(uploadId).partNumber(number).contentLength(length).contentMD5(md5),
              RequestBody.fromContentProvider(() -> FileSlice.open(file, offset, length), length, "application/octet-stream")).eTag();
          faults.partSent(number);
        }
        parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
      }
      s3.completeMultipartUpload(b -> b.bucket(bucket).key(s3Key).uploadId(uploadId).multipartUpload(m -> m.parts(parts)));
      return leftover.isPresent();
    } catch (IOException | RuntimeException e) {
      abort(uploadId, Messages.of(e));
      throw e;
    }
  }

  private long length(int index, FileDigest d) {
    return Math.min(partSize, d.size() - index * partSize);
  }

  /** The newest upload left for this key whose parts are all this file's; every other one is aborted. */
  private Optional<Leftover> leftover(FileDigest d) {
    List<MultipartUpload> left = s3.listMultipartUploads(b -> b.bucket(bucket).prefix(s3Key)).uploads().stream()
        .filter(u -> u.key().equals(s3Key)).sorted(Comparator.comparing(MultipartUpload::initiated).reversed()).toList();
    Leftover found = null;
    for (MultipartUpload u : left) {
      Optional<Map<Integer, String>> parts = found == null ? partsOf(u.uploadId(), d) : Optional.empty();
      if (parts.isPresent()) {
        found = new Leftover(u.uploadId(), parts.get());
      } else {
        abort(u.uploadId(), "an earlier upload with other content");
      }
    }
    return Optional.ofNullable(found);
  }

  /** The upload's parts by number and ETag, if every one has the size and MD5 of this file's part. */
  private Optional<Map<Integer, String>> partsOf(String uploadId, FileDigest d) {
    Map<Integer, String> parts = new HashMap<>();
    Integer marker = null;
    do {
      Integer from = marker;
      ListPartsResponse r = s3.listParts(b -> b.bucket(bucket).key(s3Key).uploadId(uploadId).partNumberMarker(from));
      for (Part p : r.parts()) {
        int i = p.partNumber() - 1;
        if (i < 0 || i >= d.partMd5s().size() || p.size() != length(i, d) || !isMd5(p.eTag(), d.partMd5s().get(i))) return Optional.empty();
        parts.put(p.partNumber(), p.eTag());
      }
      marker = Boolean.TRUE.equals(r.isTruncated()) ? r.nextPartNumberMarker() : null;
    } while (marker != null);
    return Optional.of(parts);
  }

  /** A part's ETag is the hex MD5 of its bytes, in quotes (unless the store encrypts with KMS: then it never matches, and the part is sent again). */
  private static boolean isMd5(String etag, String md5Base64) {
    String hex = HexFormat.of().formatHex(Base64.getDecoder().decode(md5Base64));
    return etag != null && etag.replace("\"", "").toLowerCase(Locale.ROOT).equals(hex);
  }

  /** Removes an upload's parts, so that neither an object nor its storage is left. */
  private void abort(String uploadId, String why) {
    try {
      s3.abortMultipartUpload(b -> b.bucket(bucket).key(s3Key).uploadId(uploadId));
      log.info("upload of {} aborted: {}", what, why);
    } catch (SdkException e) {
      // A lifecycle rule for incomplete uploads collects it (or the next put of the key); the object was never visible.
      log.warn("upload of {} aborted ({}), but the abort failed (upload id {}): {}", what, why, uploadId, Messages.of(e));
    }
  }
}
