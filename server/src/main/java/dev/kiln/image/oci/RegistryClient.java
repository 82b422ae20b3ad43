package dev.kiln.image.oci;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A client of the OCI distribution API: manifests and blobs, with the registry's own choice of
 * authentication (none, Basic, or a Bearer token fetched from the realm its 401 challenge names).
 * Plain HTTP is used only for loopback registries and those the operator marks insecure.
 */
public final class RegistryClient {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration HEADERS_TIMEOUT = Duration.ofSeconds(60);
  private static final int MAX_REDIRECTS = 5;
  private static final Pattern CHALLENGE_PARAM = Pattern.compile("(\\w+)=(?:\"([^\"]*)\"|([^,\\s]*))");
  private final HttpClient http;
  private final Set<String> insecureRegistries;

  public RegistryClient(Set<String> insecureRegistries) {
    this.insecureRegistries = Set.copyOf(insecureRegistries);
    // Redirects are followed by hand: blob redirects go to storage hosts that must not see our token.
    this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).followRedirects(HttpClient.Redirect.NEVER).build();
  }

  /** One image's conversation with its registry; it remembers the token it obtained. */
  public Session session(ImageReference ref, Optional<Credentials> credentials) {
    return new Session(ref, credentials);
  }

  public final class Session {
    private final ImageReference ref;
    private final Optional<Credentials> credentials;
    private final URI base;
    private final ReentrantLock authLock = new ReentrantLock();
    private volatile String authorization;

    private Session(ImageReference ref, Optional<Credentials> credentials) {
      this.ref = ref;
      this.credentials = credentials;
      String scheme = plainHttp(ref.apiHost()) ? "http" : "https";
      this.base = URI.create(scheme + "://" + ref.apiHost() + "/v2/" + ref.repository() + "/");
    }

    /** Fetches the manifest or index the reference names, verified against the digest it is pinned to. */
    public Fetched manifest(String reference) throws IOException, InterruptedException {
      HttpResponse<InputStream> r = send(base.resolve("manifests/" + reference), MediaTypes.ACCEPT, ByteRange.NONE);
      byte[] body;
      try (InputStream in = r.body()) {
        body = in.readNBytes((int) Descriptor.MAX_METADATA_BYTES + 1);
      }
      if (body.length > Descriptor.MAX_METADATA_BYTES) throw new RegistryException(where() + ": manifest " + reference + " is larger than 4 MiB");
      Digest actual = Digest.of(body);
      if (reference.startsWith("sha256:") && !actual.equals(Digest.parse(reference))) {
        throw new RegistryException(where() + ": manifest " + reference + " has digest " + actual + "; the registry sent different content than asked for");
      }
      return new Fetched(actual, ManifestDocument.parse(body, r.headers().firstValue("Content-Type").orElse(""), where()), body);
    }

    /** A small blob (an image config) read into memory and verified. */
    public byte[] smallBlob(Descriptor d) throws IOException, InterruptedException {
      if (d.size() > Descriptor.MAX_METADATA_BYTES) throw new RegistryException(where() + ": config blob " + d.digest() + " is " + d.size() + " bytes, too large");
      HttpResponse<InputStream> r = send(base.resolve("blobs/" + d.digest()), "*/*", ByteRange.NONE);
      byte[] body;
      try (InputStream in = r.body()) {
        body = in.readNBytes((int) d.size() + 1);
      }
      Digest got = Digest.of(body);
      if (!got.equals(d.digest())) throw new RegistryException(where() + ": blob " + d.digest() + " failed verification: got " + got);
      return body;
    }

    /**
     * Downloads a blob into the cache unless it is there. An interrupted download left as a partial
     * file is resumed with a Range request; a registry that ignores Range sends it all again.
     */
    public Path download(Descriptor d, BlobStore store, PullListener listener) throws IOException, InterruptedException {
      ReentrantLock l = store.lock(d.digest());
      l.lock();
      try {
        Optional<Path> cached = store.find(d.digest());
        if (cached.isPresent()) {
          listener.cached(d);
          return cached.get();
        }
        Path partial = store.partial(d.digest());
        MessageDigest md = Digest.sha256();
        long have = BlobStore.rehash(partial, md);
        if (have > d.size()) {
          Files.delete(partial);
          md.reset();
          have = 0;
        }
        HttpResponse<InputStream> r = send(base.resolve("blobs/" + d.digest()), "*/*", have > 0 ? new ByteRange(have) : ByteRange.NONE);
        boolean append = r.statusCode() == 206;
        if (!append) {
          md.reset();
          have = 0;
        }
        listener.started(d, have);
        try (InputStream in = r.body();
             FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                 append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
          byte[] buf = new byte[1 << 17];
          long done = have;
          for (int n; (n = in.read(buf)) > 0; ) {
            if (done + n > d.size()) throw new RegistryException(where() + ": blob " + d.digest() + " is longer than the " + d.size() + " bytes its manifest declares");
            md.update(buf, 0, n);
            out.write(java.nio.ByteBuffer.wrap(buf, 0, n));
            done += n;
            listener.progress(d, done);
          }
        }
        Path blob = store.commit(d.digest(), d.size(), md, where());
        listener.finished(d);
        return blob;
      } finally {
        l.unlock();
      }
    }

    private String where() {
      return "registry " + ref.registry() + ", image " + ref;
    }

    private HttpResponse<InputStream> send(URI uri, String accept, ByteRange range) throws IOException, InterruptedException {
      for (int attempt = 0; ; attempt++) {
        HttpResponse<InputStream> r = follow(uri, accept, range, authorization);
        if (r.statusCode() == 401 && attempt == 0) {
          String challenge = r.headers().firstValue("WWW-Authenticate").orElse("");
          r.body().close();
          authenticate(challenge);
          continue;
        }
        if (r.statusCode() == 200 || r.statusCode() == 206) return r;
        String detail;
        try (InputStream in = r.body()) {
          detail = new String(in.readNBytes(300), StandardCharsets.UTF_8).strip();
        }
        String what = uri.getPath().contains("/manifests/") ? "manifest " + uri.getPath().replaceAll(".*/manifests/", "") : "blob " + uri.getPath().replaceAll(".*/", "");
        String msg = where() + ": " + what + ": HTTP " + r.statusCode();
        throw new RegistryException(switch (r.statusCode()) {
          case 401, 403 -> msg + " (access denied" + (credentials.isEmpty() ? "; the registry wants credentials" : " for user " + credentials.get().username()) + ")";
          case 404 -> msg + " (not found)";
          default -> msg + (detail.isEmpty() ? "" : ": " + detail);
        });
      }
    }

    private HttpResponse<InputStream> follow(URI uri, String accept, ByteRange range, String auth) throws IOException, InterruptedException {
      URI at = uri;
      for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
        HttpRequest.Builder b = HttpRequest.newBuilder(at).timeout(HEADERS_TIMEOUT).header("Accept", accept).GET();
        if (auth != null && at.getAuthority().equals(base.getAuthority())) b.header("Authorization", auth);
        if (range.from() > 0) b.header("Range", "bytes=" + range.from() + "-");
        HttpResponse<InputStream> r;
        try {
          r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
          throw new RegistryException(where() + ": cannot reach " + at.getAuthority() + ": " + describe(e), e);
        }
        int s = r.statusCode();
        if (s != 301 && s != 302 && s != 303 && s != 307 && s != 308) return r;
        r.body().close();
        String location = r.headers().firstValue("Location").orElseThrow(() -> new RegistryException(where() + ": redirect without a Location"));
        at = at.resolve(location);
      }
      throw new RegistryException(where() + ": more than " + MAX_REDIRECTS + " redirects");
    }

    /** Answers a 401 challenge: Basic with the credentials, or a Bearer token from the realm. */
    private void authenticate(String challenge) throws IOException, InterruptedException {
      authLock.lock();
      try {
        String scheme = challenge.split("\\s", 2)[0].toLowerCase();
        Map<String, String> params = new LinkedHashMap<>();
        Matcher m = CHALLENGE_PARAM.matcher(challenge);
        while (m.find()) params.put(m.group(1).toLowerCase(), m.group(2) != null ? m.group(2) : m.group(3));
        switch (scheme) {
          case "basic" -> authorization = credentials
              .orElseThrow(() -> new RegistryException(where() + ": HTTP 401, the registry wants credentials (Basic realm " + params.getOrDefault("realm", "?") + ")"))
              .basicHeader();
          case "bearer" -> authorization = "Bearer " + fetchToken(params);
          default -> throw new RegistryException(where() + ": HTTP 401 with an authentication scheme Kiln does not speak: '" + challenge + "'");
        }
      } finally {
        authLock.unlock();
      }
    }

    private String fetchToken(Map<String, String> params) throws IOException, InterruptedException {
      String realm = params.get("realm");
      if (realm == null) throw new RegistryException(where() + ": Bearer challenge without a realm");
      StringBuilder q = new StringBuilder();
      if (params.containsKey("service")) q.append("service=").append(URLEncoder.encode(params.get("service"), StandardCharsets.UTF_8));
      String scope = params.getOrDefault("scope", "repository:" + ref.repository() + ":pull");
      q.append(q.isEmpty() ? "" : "&").append("scope=").append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
      URI tokenUri = URI.create(realm + (realm.contains("?") ? "&" : "?") + q);
      if (!tokenUri.getScheme().equals("https") && !plainHttp(tokenUri.getHost())) {
        throw new RegistryException(where() + ": token realm " + realm + " is not HTTPS; refusing to send credentials there");
      }
      HttpRequest.Builder b = HttpRequest.newBuilder(tokenUri).timeout(HEADERS_TIMEOUT).GET();
      credentials.ifPresent(c -> b.header("Authorization", c.basicHeader()));
      HttpResponse<byte[]> r;
      try {
        r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      } catch (IOException e) {
        throw new RegistryException(where() + ": cannot reach token service " + tokenUri.getAuthority() + ": " + describe(e), e);
      }
      if (r.statusCode() != 200) {
        throw new RegistryException(where() + ": token service " + tokenUri.getAuthority() + " answered HTTP " + r.statusCode()
            + (credentials.isPresent() ? " for user " + credentials.get().username() : " to an anonymous request"));
      }
      var json = ManifestDocument.JSON.readTree(r.body());
      String token = json.path("token").asText(json.path("access_token").asText(""));
      if (token.isEmpty()) throw new RegistryException(where() + ": token service answered without a token");
      return token;
    }
  }

  /** A manifest as fetched: its digest (of the exact bytes), the parsed document, the bytes. */
  public record Fetched(Digest digest, ManifestDocument document, byte[] body) {}

  private record ByteRange(long from) {
    static final ByteRange NONE = new ByteRange(0);
  }

  /** java.net's connection errors often carry no message; their type is what says what happened. */
  private static String describe(IOException e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + e.getMessage();
  }

  private boolean plainHttp(String host) {
    if (insecureRegistries.contains(host)) return true;
    String bare = host.replaceFirst(":[0-9]+$", "").replaceAll("[\\[\\]]", "");
    if (bare.equals("localhost")) return true;
    try {
      return bare.matches("[0-9.]+|[0-9a-fA-F:]+") && InetAddress.getByName(bare).isLoopbackAddress();
    } catch (IOException e) {
      return false;
    }
  }
}
