package dev.kiln.blob;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Immutable files under keys, in a bucket or a directory. Every failure is an
 * {@link ObjectStoreException} whose message names the store and the key.
 *
 * <p>Guarantees of every implementation: an object becomes visible whole or not at all (a failed
 * put leaves nothing under its key); its SHA-256 and size are recorded with it at put, and
 * {@link #get} checks the bytes it received against them before the target file appears. A key is
 * meant to be written once (artifacts are immutable); a put over an existing key replaces it, and
 * a get racing that may fail its check, but never yields bytes other than one put's.
 */
public interface ObjectStore extends AutoCloseable {
  /** One page of a listing; {@code next} is the token for the page after it, empty on the last. */
  record Page(List<ObjectKey> keys, Optional<String> next) {
    public Page {
      keys = List.copyOf(keys);
    }
  }

  /**
   * Uploads {@code file} (streamed, never read into memory whole) under {@code key}, with its
   * SHA-256 and size. Fails, leaving no object, if the file changes while it is sent.
   */
  ObjectInfo put(ObjectKey key, Path file);

  /**
   * Downloads the object to {@code target}: written under a temporary name beside it, checked
   * against the size and SHA-256 recorded at put, fsynced, then renamed into place. On any failure
   * (a mismatch is {@link ObjectStoreException.Problem#CORRUPT}) no file is left at {@code target}
   * or beside it. A file already at {@code target} is replaced.
   */
  ObjectInfo get(ObjectKey key, Path target);

  /** The object's recorded size and SHA-256, or empty if there is none under the key. */
  Optional<ObjectInfo> head(ObjectKey key);

  /**
   * The keys that start with {@code prefix}, in ascending order, at most {@code pageSize}
   * (1..1000) of them after the page {@code token} came from (empty for the first).
   */
  Page list(String prefix, Optional<String> token, int pageSize);

  /** Every key that starts with {@code prefix}, page after page. */
  default List<ObjectKey> listAll(String prefix) {
    List<ObjectKey> all = new ArrayList<>();
    Optional<String> token = Optional.empty();
    do {
      Page p = list(prefix, token, 1000);
      all.addAll(p.keys());
      token = p.next();
    } while (token.isPresent());
    return all;
  }

  /** Removes the object; a key with no object is no error. */
  void delete(ObjectKey key);

  /**
   * Checks that the store can be used (the bucket exists and the credentials are accepted, or the
   * directory is writable), for a daemon to refuse to start with one clear line instead of
   * failing its first template.
   */
  void check();

  /** The store in words for logs and messages: {@code bucket 'b' at http://host:port} or {@code directory /x}. */
  String describe();

  @Override
  void close();
}
