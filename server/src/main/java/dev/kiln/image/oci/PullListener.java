package dev.kiln.image.oci;

/** What a pull reports as it goes, for build logs and progress bars. Called from download threads. */
public interface PullListener {
  /** The blob was already in the cache: nothing to download. */
  default void cached(Descriptor blob) {}

  /** A download starts, at {@code from} bytes when it resumes an interrupted one. */
  default void started(Descriptor blob, long from) {}

  /** {@code done} of {@code blob.size()} bytes are on disk. */
  default void progress(Descriptor blob, long done) {}

  default void finished(Descriptor blob) {}

  PullListener NONE = new PullListener() {};
}
