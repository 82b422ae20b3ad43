package dev.kiln.image.oci;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Brings an image's linux/amd64 manifest, config and layers into the blob cache, from a registry
 * or from an OCI image layout directory, verifying every digest on the way.
 */
public final class ImagePuller {
  /** Layers downloaded at once: enough to hide per-request latency, few enough not to thrash a disk. */
  private static final int PARALLEL_DOWNLOADS = 3;
  private static final String REF_NAME = "org.opencontainers.image.ref.name";
  private final RegistryClient registry;
  private final BlobStore store;
  private final DockerConfig dockerConfig;

  public ImagePuller(RegistryClient registry, BlobStore store, DockerConfig dockerConfig) {
    this.registry = registry;
    this.store = store;
    this.dockerConfig = dockerConfig;
  }

  /** Pulls with the given credentials, else those the Docker config has for the registry, else anonymously. */
  public PulledImage pull(ImageReference ref, Optional<Credentials> credentials, PullListener listener)
      throws IOException, InterruptedException {
    RegistryClient.Session s = registry.session(ref, credentials.or(() -> dockerConfig.lookup(ref.registry())));
    RegistryClient.Fetched top = s.manifest(ref.manifestReference());
    RegistryClient.Fetched image = top;
    if (top.document() instanceof ManifestDocument.Index index) {
      Descriptor chosen = select(index, ref.toString());
      image = s.manifest(chosen.digest().toString());
    }
    if (!(image.document() instanceof ManifestDocument.Manifest m)) {
      throw new RegistryException("registry " + ref.registry() + ", image " + ref + ": an index points at another index; nested indexes are not supported");
    }
    ImageConfig config = checkedConfig(ImageConfig.parse(s.smallBlob(m.config()), ref.toString()), ref.toString());
    List<Path> files = downloadAll(m.layers(), d -> s.download(d, store, listener));
    return new PulledImage(ref.toString(), image.digest(), config, m.layers(), files);
  }

  /** An OCI image layout directory ({@code oci:/path[:tag]}), as umoci and skopeo write them. */
  public PulledImage pullLayout(Path layout, Optional<String> tag, PullListener listener) throws IOException, InterruptedException {
    String where = "OCI layout " + layout + tag.map(t -> ":" + t).orElse("");
    Path indexFile = layout.resolve("index.json");
    if (!Files.isRegularFile(indexFile)) throw new RegistryException(where + ": no index.json (not an OCI image layout)");
    var root = ManifestDocument.JSON.readTree(Files.readAllBytes(indexFile));
    List<Descriptor> candidates = new ArrayList<>();
    for (var m : root.path("manifests")) {
      String name = m.path("annotations").path(REF_NAME).asText("");
      if (tag.isEmpty() || tag.get().equals(name)) candidates.add(Descriptor.from(m, where));
    }
    if (candidates.size() != 1) {
      throw new RegistryException(where + ": " + (candidates.isEmpty() ? "no manifest" : candidates.size() + " manifests")
          + (tag.isPresent() ? " tagged " + tag.get() : "; name one with oci:" + layout + ":TAG"));
    }
    Descriptor top = candidates.getFirst();
    ManifestDocument doc = ManifestDocument.parse(readVerified(layout, top, where), top.mediaType(), where);
    Digest manifestDigest = top.digest();
    if (doc instanceof ManifestDocument.Index index) {
      Descriptor chosen = select(index, where);
      manifestDigest = chosen.digest();
      doc = ManifestDocument.parse(readVerified(layout, chosen, where), chosen.mediaType(), where);
    }
    if (!(doc instanceof ManifestDocument.Manifest m)) throw new RegistryException(where + ": nested indexes are not supported");
    ImageConfig config = checkedConfig(ImageConfig.parse(readVerified(layout, m.config(), where), where), where);
    List<Path> files = downloadAll(m.layers(), d -> {
      Optional<Path> cached = store.find(d.digest());
      if (cached.isPresent()) {
        listener.cached(d);
        return cached.get();
      }
      listener.started(d, 0);
      try (InputStream in = Files.newInputStream(blobPath(layout, d))) {
        Path p = store.put(d.digest(), d.size(), in, where);
        listener.finished(d);
        return p;
      }
    });
    return new PulledImage(where, manifestDigest, config, m.layers(), files);
  }

  private static Descriptor select(ManifestDocument.Index index, String image) throws RegistryException {
    try {
      return index.select(Descriptor.Platform.LINUX_AMD64, image);
    } catch (IllegalArgumentException e) {
      throw new RegistryException(e.getMessage());
    }
  }

  private static ImageConfig checkedConfig(ImageConfig c, String where) throws RegistryException {
    boolean linux = c.os().isEmpty() || c.os().equals("linux");
    boolean amd64 = c.architecture().isEmpty() || c.architecture().equals("amd64");
    if (!linux || !amd64) throw new RegistryException(where + ": image is for " + c.os() + "/" + c.architecture() + "; Kiln runs linux/amd64 guests");
    return c;
  }

  private static Path blobPath(Path layout, Descriptor d) {
    return layout.resolve("blobs").resolve("sha256").resolve(d.digest().hex());
  }

  private static byte[] readVerified(Path layout, Descriptor d, String where) throws IOException {
    if (d.size() > Descriptor.MAX_METADATA_BYTES) throw new RegistryException(where + ": " + d.digest() + " is too large for a manifest or config");
    byte[] b = Files.readAllBytes(blobPath(layout, d));
    if (!Digest.of(b).equals(d.digest())) throw new RegistryException(where + ": blob " + d.digest() + " does not match its digest");
    return b;
  }

  private interface Fetch {
    Path fetch(Descriptor d) throws IOException, InterruptedException;
  }

  private static List<Path> downloadAll(List<Descriptor> layers, Fetch fetch) throws IOException, InterruptedException {
    Semaphore slots = new Semaphore(PARALLEL_DOWNLOADS);
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Path>> futures = new ArrayList<>();
      for (Descriptor d : layers) {
        futures.add(pool.submit(() -> {
          slots.acquire();
          try {
            return fetch.fetch(d);
          } finally {
            slots.release();
          }
        }));
      }
      List<Path> out = new ArrayList<>();
      for (Future<Path> f : futures) {
        try {
          out.add(f.get());
        } catch (ExecutionException e) {
          futures.forEach(x -> x.cancel(true));
          if (e.getCause() instanceof IOException io) throw io;
          if (e.getCause() instanceof InterruptedException ie) throw ie;
          throw new IOException(e.getCause());
        }
      }
      return out;
    }
  }
}
