package dev.kiln.e2b;

import dev.kiln.agent.FileEntry;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxOperations;
import dev.kiln.sandbox.UserResolver;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** envd's {@code filesystem.Filesystem} service on Kiln's file operations through the guest agent. */
final class FilesystemRpc {
  /** The deepest ListDir Kiln walks, and the most entries it returns: a listing is answered whole, in memory. */
  static final int MAX_DEPTH = 16;
  static final int MAX_ENTRIES = 20_000;
  private final SandboxManager sandboxes;
  private final SandboxOperations ops;
  private final UserResolver users;
  private final DirectoryWatch watch;

  FilesystemRpc(SandboxManager sandboxes, SandboxOperations ops, UserResolver users) {
    this.sandboxes = sandboxes;
    this.ops = ops;
    this.users = users;
    this.watch = new DirectoryWatch(ops);
  }

  static boolean streaming(String method) {
    return method.equals("WatchDir");
  }

  void call(String method, EnvdCall call, ProtoJson req) throws Exception {
    String id = call.sandboxId();
    switch (method) {
      case "Stat" -> {
        String path = path(call, req, "path");
        Envd.unary(call.exchange(), Map.of("entry", entry(path, ops.stat(id, path))));
      }
      case "ListDir" -> {
        String path = path(call, req, "path");
        long depth = req.uint32("depth", 1);
        if (depth < 1) throw ProtoJson.invalid("ListDirRequest.depth must be at least 1");
        requireDirectory(id, path);
        List<Map<String, Object>> out = new ArrayList<>();
        list(id, path, (int) Math.min(depth, MAX_DEPTH), out);
        Envd.unary(call.exchange(), Map.of("entries", out));
      }
      case "MakeDir" -> {
        String path = path(call, req, "path");
        if (exists(id, path)) throw new ConnectException(ConnectCode.ALREADY_EXISTS, "path '" + path + "' already exists");
        call.exchange().audit("path", path);
        ops.mkdir(id, path, 0755, true);
        Envd.unary(call.exchange(), Map.of("entry", entry(path, ops.stat(id, path))));
      }
      case "Move" -> {
        String from = path(call, req, "source");
        String to = path(call, req, "destination");
        call.exchange().audit("from", from);
        call.exchange().audit("to", to);
        ops.rename(id, from, to);
        Envd.unary(call.exchange(), Map.of("entry", entry(to, ops.stat(id, to))));
      }
      case "Remove" -> {
        String path = path(call, req, "path");
        call.exchange().audit("path", path);
        // envd removes with Go's RemoveAll: a path that is not there is not an error.
        if (exists(id, path)) ops.remove(id, path, true);
        Envd.unary(call.exchange(), Map.of());
      }
      case "WatchDir" -> {
        String path = path(call, req, "path");
        requireDirectory(id, path);
        watch.stream(call, path, req.bool("recursive"), req.bool("includeEntry"));
      }
      case "CreateWatcher", "GetWatcherEvents", "RemoveWatcher" -> throw new ConnectException(ConnectCode.UNIMPLEMENTED,
          "filesystem.Filesystem/" + method + " (polled watchers) is not served by Kiln: use WatchDir, as the E2B SDK does");
      default -> throw new ConnectException(ConnectCode.UNIMPLEMENTED, "filesystem.Filesystem has no method " + method);
    }
  }

  private void list(String id, String dir, int depth, List<Map<String, Object>> out) throws InterruptedException {
    for (FileEntry e : ops.list(id, dir)) {
      if (out.size() >= MAX_ENTRIES) throw new ConnectException(ConnectCode.RESOURCE_EXHAUSTED, "the listing has more than " + MAX_ENTRIES + " entries: list a smaller depth");
      String child = EnvdCall.child(dir, e.name());
      out.add(entry(child, e));
      if (depth > 1 && e.kind() == FileEntry.Kind.DIRECTORY) list(id, child, depth - 1, out);
    }
  }

  private void requireDirectory(String id, String path) throws InterruptedException {
    FileEntry e = ops.stat(id, path);
    if (e.kind() != FileEntry.Kind.DIRECTORY) throw ProtoJson.invalid("path '" + path + "' is not a directory");
  }

  private boolean exists(String id, String path) throws InterruptedException {
    try {
      ops.stat(id, path);
      return true;
    } catch (KilnException e) {
      if (e.code() == ErrorCode.FILE_NOT_FOUND) return false;
      throw e;
    }
  }

  private String path(EnvdCall call, ProtoJson req, String field) throws InterruptedException {
    return call.resolve(req.string(field, ""), sandboxes, users);
  }

  /**
   * envd's EntryInfo: Go's FileMode for {@code mode} (the directory bit is 1<<31, a link's 1<<27,
   * written unsigned), its ls-style permissions, and the size as a string (int64 in proto3 JSON).
   * Kiln's agent does not report owners, so owner and group are empty.
   */
  static Map<String, Object> entry(String path, FileEntry e) {
    Map<String, Object> m = new LinkedHashMap<>();
    String name = path.equals("/") ? "/" : path.substring(path.replaceAll("/+$", "").lastIndexOf('/') + 1).replaceAll("/+$", "");
    m.put("name", name);
    m.put("type", switch (e.kind()) {
      case FILE -> "FILE_TYPE_FILE";
      case DIRECTORY -> "FILE_TYPE_DIRECTORY";
      case SYMLINK -> "FILE_TYPE_SYMLINK";
      case OTHER -> "FILE_TYPE_UNSPECIFIED";
    });
    m.put("path", path);
    m.put("size", Long.toString(e.size()));
    long typeBits = switch (e.kind()) {
      case DIRECTORY -> 1L << 31;
      case SYMLINK -> 1L << 27;
      default -> 0;
    };
    m.put("mode", typeBits | (e.mode() & 0777));
    m.put("permissions", permissions(e));
    m.put("owner", "");
    m.put("group", "");
    m.put("modifiedTime", e.mtime().toString());
    return m;
  }

  private static String permissions(FileEntry e) {
    StringBuilder b = new StringBuilder(switch (e.kind()) {
      case DIRECTORY -> "d";
      case SYMLINK -> "L";
      default -> "-";
    });
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) b.append((e.mode() & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
    return b.toString();
  }
}
