package dev.kiln.api;

import dev.kiln.agent.FileEntry;
import dev.kiln.agent.GuestFileInput;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.SandboxOperations;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** /v1/sandboxes/{id}/files: raw bytes streamed both ways, listings, stat and delete. */
final class FileRoutes {
  private final SandboxOperations ops;

  FileRoutes(SandboxOperations ops) {
    this.ops = ops;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/sandboxes/{id}/files", this::download),
        new Route("PUT", "/v1/sandboxes/{id}/files", this::upload),
        new Route("DELETE", "/v1/sandboxes/{id}/files", this::remove),
        new Route("GET", "/v1/sandboxes/{id}/files/list", x -> x.json(200,
            Map.of("entries", ops.list(x.path("id"), x.requiredQuery("path")).stream().map(FileRoutes::entry).toList()))),
        new Route("GET", "/v1/sandboxes/{id}/files/stat", x -> x.json(200, entry(ops.stat(x.path("id"), x.requiredQuery("path"))))),
        new Route("POST", "/v1/sandboxes/{id}/files/mkdir", x -> {
          Bodies.Mkdir b = x.body(Bodies.Mkdir.class, null);
          x.audit("path", String.valueOf(b.path()));
          ops.mkdir(x.path("id"), b.path(), b.mode() == null ? 0755 : parseMode(b.mode()), b.parents() == null || b.parents());
          x.noContent();
        }),
        new Route("POST", "/v1/sandboxes/{id}/files/rename", x -> {
          Bodies.Rename b = x.body(Bodies.Rename.class, null);
          x.audit("from", String.valueOf(b.from()));
          x.audit("to", String.valueOf(b.to()));
          ops.rename(x.path("id"), b.from(), b.to());
          x.noContent();
        }));
  }

  private void download(Exchange x) throws Exception {
    try (GuestFileInput in = ops.readFile(x.path("id"), x.requiredQuery("path"))) {
      x.stream(in, "application/octet-stream");
    }
  }

  private void upload(Exchange x) throws Exception {
    String path = x.requiredQuery("path");
    int mode = parseMode(x.query("mode"));
    x.audit("path", path);
    Upload written = Upload.write(ops, x.path("id"), path, mode, x.bodyStream());
    written.audit(x);
    x.json(200, Map.of("path", path, "bytesWritten", written.bytes()));
  }

  private void remove(Exchange x) throws Exception {
    String recursive = x.query("recursive");
    x.audit("path", x.requiredQuery("path"));
    ops.remove(x.path("id"), x.requiredQuery("path"), recursive == null || Boolean.parseBoolean(recursive));
    x.noContent();
  }

  private static int parseMode(String mode) {
    if (mode == null) return 0644;
    if (!mode.matches("[0-7]{3,4}")) throw new KilnException(ErrorCode.INVALID_REQUEST, "mode must be octal like 0644, got '" + mode + "'");
    return Integer.parseInt(mode, 8);
  }

  static Map<String, Object> entry(FileEntry e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", e.name());
    m.put("type", e.kind().name().toLowerCase());
    m.put("size", e.size());
    m.put("mode", String.format("%04o", e.mode()));
    m.put("mtime", e.mtime().toString());
    return m;
  }
}
