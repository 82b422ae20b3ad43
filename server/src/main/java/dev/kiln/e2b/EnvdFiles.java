package dev.kiln.e2b;

import dev.kiln.agent.GuestFileInput;
import dev.kiln.api.Exchange;
import dev.kiln.api.Upload;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxOperations;
import dev.kiln.sandbox.UserResolver;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * envd's /files: GET streams a file out; POST writes files, as multipart/form-data (one part per
 * file, the target in {@code ?path=} or the part's filename) or as one raw body
 * (application/octet-stream, gzip allowed). Contents stream through to the guest agent.
 */
final class EnvdFiles {
  /** The most files one upload may carry: each is a write through the agent. */
  static final int MAX_PARTS = 1_000;
  private final SandboxManager sandboxes;
  private final SandboxOperations ops;
  private final UserResolver users;

  EnvdFiles(SandboxManager sandboxes, SandboxOperations ops, UserResolver users) {
    this.sandboxes = sandboxes;
    this.ops = ops;
    this.users = users;
  }

  /** Whether the request is a file URL signed with this sandbox's token (the SDK's uploadUrl/downloadUrl). */
  boolean signed(Exchange x, String sandboxId, EnvdTokens tokens, String user, Instant now) {
    String signature = x.query("signature");
    if (signature == null) return false;
    String operation = x.method().equals("GET") ? "read" : "write";
    return tokens.signatureValid(sandboxId, String.valueOf(x.query("path")), operation, user, signature, x.query("signature_expiration"), now);
  }

  void handle(EnvdCall call) throws Exception {
    Exchange x = call.exchange();
    switch (x.method()) {
      case "GET" -> download(call);
      case "POST" -> upload(call);
      default -> throw new KilnException(ErrorCode.METHOD_NOT_ALLOWED, x.method() + " is not allowed on /files (GET reads, POST writes)");
    }
  }

  private void download(EnvdCall call) throws Exception {
    Exchange x = call.exchange();
    String path = call.resolve(x.requiredQuery("path"), sandboxes, users);
    try (GuestFileInput in = readable(call.sandboxId(), path)) {
      x.setHeader("Content-Disposition", "inline; filename=\"" + name(path).replace("\"", "") + "\"");
      x.stream(in, "application/octet-stream");
    }
  }

  /** The file open for reading; a directory is the request's mistake (400, as envd answers), not a conflict. */
  private GuestFileInput readable(String sandboxId, String path) throws InterruptedException {
    try {
      return ops.readFile(sandboxId, path);
    } catch (KilnException e) {
      if (e.code() == ErrorCode.FILE_CONFLICT) throw new KilnException(ErrorCode.INVALID_REQUEST, "cannot read '" + path + "' as a file: " + e.getMessage(), e);
      throw e;
    }
  }

  private void upload(EnvdCall call) throws Exception {
    Exchange x = call.exchange();
    for (String h : x.headerNames()) {
      if (h.regionMatches(true, 0, "X-Metadata-", 0, 11)) {
        throw new KilnException(ErrorCode.INVALID_REQUEST, "file metadata (X-Metadata-* headers, kept as xattrs by E2B) is not supported by Kiln");
      }
    }
    String type = String.valueOf(x.header("Content-Type"));
    Optional<String> boundary = MultipartReader.boundaryOf(type);
    String pathQuery = x.query("path");
    List<Upload> written = new ArrayList<>();
    if (boundary.isPresent()) {
      MultipartReader parts = new MultipartReader(x.bodyStream(), boundary.get());
      Set<String> targets = new HashSet<>();
      for (Optional<MultipartReader.Part> p = parts.next(); p.isPresent(); p = parts.next()) {
        if (written.size() >= MAX_PARTS) throw new KilnException(ErrorCode.INVALID_REQUEST, "an upload carries at most " + MAX_PARTS + " files");
        String target = pathQuery != null && !pathQuery.isEmpty() ? pathQuery
            : p.get().filename().filter(f -> !f.isEmpty()).orElseThrow(() -> new KilnException(ErrorCode.INVALID_REQUEST,
                "a part names no file: give ?path= or a filename in its Content-Disposition"));
        String path = call.resolve(target, sandboxes, users);
        if (!targets.add(path)) throw new KilnException(ErrorCode.INVALID_REQUEST, "two parts of the upload write the same path " + path);
        written.add(Upload.write(ops, call.sandboxId(), path, 0644, p.get().content()));
      }
    } else if (type.toLowerCase(Locale.ROOT).startsWith("application/octet-stream")) {
      if (pathQuery == null || pathQuery.isEmpty()) throw new KilnException(ErrorCode.INVALID_REQUEST, "a raw upload (application/octet-stream) needs ?path=");
      String encoding = String.valueOf(x.header("Content-Encoding")).toLowerCase(Locale.ROOT);
      InputStream body = x.bodyStream();
      if (encoding.equals("gzip")) body = GzipBody.of(body);
      else if (!encoding.equals("null") && !encoding.equals("identity")) {
        throw new KilnException(ErrorCode.INVALID_REQUEST, "Content-Encoding " + encoding + " is not accepted (gzip or none)");
      }
      written.add(Upload.write(ops, call.sandboxId(), call.resolve(pathQuery, sandboxes, users), 0644, body));
    } else {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "POST /files takes multipart/form-data or application/octet-stream, got " + type);
    }
    if (written.isEmpty()) throw new KilnException(ErrorCode.INVALID_REQUEST, "the upload carried no file");
    // One file is recorded as Kiln's own upload is; several each with their path, size and sha256.
    if (written.size() == 1) written.getFirst().audit(x);
    else x.audit("files", written.stream().map(Upload::detail).toList());
    x.json(200, written.stream().map(EnvdFiles::entry).toList());
  }

  /** What envd answers of a file written. */
  private static Map<String, Object> entry(Upload u) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name(u.path()));
    m.put("type", "file");
    m.put("path", u.path());
    return m;
  }

  private static String name(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }
}
