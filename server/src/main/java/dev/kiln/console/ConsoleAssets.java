package dev.kiln.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The console's files, read once from the jar: the build lists them in {@code console/assets.txt}
 * (a jar's directories cannot be listed). Each carries its type and an ETag (its sha256), so a
 * browser revalidates instead of downloading again.
 */
public final class ConsoleAssets {
  private static final String ROOT = "/console/";
  private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8",
      "css", "text/css; charset=utf-8", "svg", "image/svg+xml", "png", "image/png", "map", "application/json", "txt", "text/plain; charset=utf-8");

  /** One file: its bytes, type and ETag. */
  public record Asset(byte[] bytes, String type, String etag) {}

  private final Map<String, Asset> files;

  private ConsoleAssets(Map<String, Asset> files) {
    this.files = files;
  }

  /** The console this jar was built with; empty if it was built without one (a build that skipped npm). */
  public static Optional<ConsoleAssets> fromJar() {
    byte[] list = read("assets.txt");
    if (list == null) return Optional.empty();
    Map<String, Asset> files = new LinkedHashMap<>();
    for (String name : new String(list, StandardCharsets.UTF_8).split("\n")) {
      if (name.isBlank()) continue;
      byte[] bytes = read(name);
      if (bytes == null) throw new IllegalStateException("the console's file list names " + name + ", which the jar does not hold");
      files.put(name, new Asset(bytes, typeOf(name), "\"" + sha256(bytes).substring(0, 32) + "\""));
    }
    if (!files.containsKey("index.html")) throw new IllegalStateException("the console in the jar has no index.html");
    return Optional.of(new ConsoleAssets(Map.copyOf(files)));
  }

  public Optional<Asset> get(String name) {
    return Optional.ofNullable(files.get(name));
  }

  private static byte[] read(String name) {
    try (InputStream in = ConsoleAssets.class.getResourceAsStream(ROOT + name)) {
      return in == null ? null : in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String typeOf(String name) {
    String ext = name.substring(name.lastIndexOf('.') + 1);
    return TYPES.getOrDefault(ext, "application/octet-stream");
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
