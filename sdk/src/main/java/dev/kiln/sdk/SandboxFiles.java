package dev.kiln.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The sandbox's filesystem. Paths are absolute paths inside the sandbox. */
public final class SandboxFiles {
  private final Kiln kiln;
  private final String base;

  SandboxFiles(Kiln kiln, String sandboxId) {
    this.kiln = kiln;
    this.base = "/v1/sandboxes/" + sandboxId + "/files";
  }

  public byte[] read(String path) {
    try (InputStream in = open(path)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String readText(String path) {
    return new String(read(path), StandardCharsets.UTF_8);
  }

  /** The file as a stream, for files of any size; close it. */
  public InputStream open(String path) {
    return kiln.stream(base + "?path=" + Kiln.q(path));
  }

  public void write(String path, byte[] content) {
    kiln.put(base + "?path=" + Kiln.q(path), HttpRequest.BodyPublishers.ofByteArray(content));
  }

  public void write(String path, String text) {
    write(path, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Streams {@code content} into the file (missing parent directories are created); mode like 0755. */
  public void write(String path, InputStream content, int mode) {
    kiln.put(base + "?path=" + Kiln.q(path) + "&mode=" + String.format("%04o", mode), HttpRequest.BodyPublishers.ofInputStream(() -> content));
  }

  public List<FileInfo> list(String path) {
    List<FileInfo> out = new ArrayList<>();
    for (JsonNode e : kiln.get(base + "/list?path=" + Kiln.q(path)).path("entries")) out.add(info(e));
    return out;
  }

  public FileInfo stat(String path) {
    return info(kiln.get(base + "/stat?path=" + Kiln.q(path)));
  }

  public boolean exists(String path) {
    try {
      stat(path);
      return true;
    } catch (KilnException e) {
      if (e.code().equals("FILE_NOT_FOUND")) return false;
      throw e;
    }
  }

  /** Like mkdir -p. */
  public void mkdir(String path) {
    kiln.post(base + "/mkdir", Map.of("path", path));
  }

  public void rename(String from, String to) {
    kiln.post(base + "/rename", Map.of("from", from, "to", to));
  }

  /** Removes a file, or a directory with everything in it. */
  public void remove(String path) {
    kiln.delete(base + "?path=" + Kiln.q(path) + "&recursive=true");
  }

  private static FileInfo info(JsonNode e) {
    return new FileInfo(e.path("name").asText(), e.path("type").asText(), e.path("size").asLong(), Integer.parseInt(e.path("mode").asText("0"), 8),
        Instant.parse(e.path("mtime").asText()));
  }
}
