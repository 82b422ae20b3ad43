package dev.kiln.build;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.agent.FileEntry;
import dev.kiln.agent.GuestFileInput;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * COPY and ADD into a build VM, as Docker places files: a directory source's contents go into the
 * destination; a file goes to the destination itself unless that ends in '/', is a directory
 * already, or several sources are copied (then into it, under its own name). Files are written by
 * the agent (no tool in the image needed); symbolic links are made with {@code ln}, owners with
 * {@code chown}, both from the image.
 */
final class GuestCopy {
  /** chown's argv is batched: far below any argument-size limit. */
  private static final int CHOWN_BATCH = 200;
  private static final int MAX_LISTING = 1_000_000;
  private final AgentConnection target;
  private final Optional<Integer> chmod;
  /** Every path this copy made, for --chown. */
  private final List<String> made = new ArrayList<>();

  GuestCopy(AgentConnection target, Optional<Integer> chmod) {
    this.target = target;
    this.chmod = chmod;
  }

  /** Where one source entry named {@code name} lands. */
  static String placed(String dest, boolean intoDir, String name) {
    if (!intoDir) return dest;
    return (dest.endsWith("/") ? dest : dest + "/") + name;
  }

  /** Whether the destination is a directory to copy into (a trailing '/', several sources, or a directory there now). */
  boolean intoDirectory(String dest, int sources) throws AgentException, InterruptedException {
    if (dest.endsWith("/") || sources > 1) return true;
    try {
      return target.files().stat(dest).kind() == FileEntry.Kind.DIRECTORY;
    } catch (AgentException e) {
      if (e.errno() == AgentException.ENOENT || e.errno() == AgentException.ENOTDIR) return false;
      throw e;
    }
  }

  void directory(String path, int mode) throws AgentException, InterruptedException {
    try {
      target.files().mkdir(path, chmod.orElse(mode), true);
    } catch (AgentException e) {
      if (e.errno() != AgentException.EEXIST) throw e;
    }
    made.add(path);
  }

  void file(String path, int mode, InputStream content) throws AgentException, InterruptedException, IOException {
    target.files().write(path, chmod.orElse(mode), true, content);
    made.add(path);
  }

  void symlink(String path, String linkTarget) throws AgentException, InterruptedException {
    int slash = path.lastIndexOf('/');
    if (slash > 0) directory(path.substring(0, slash), 0755);
    GuestCommands.runOrFail(target, List.of("ln", "-sfn", linkTarget, path), "making the symbolic link " + path);
    made.add(path);
  }

  /**
   * Copies {@code sourcePath} of another guest (an earlier stage's VM) to {@code dest} here:
   * a directory's contents recursively, a file with its mode, a link as a link.
   */
  void fromGuest(AgentConnection source, String sourcePath, String dest, boolean intoDir) throws AgentException, InterruptedException, IOException {
    FileEntry e;
    try {
      e = source.files().stat(sourcePath);
    } catch (AgentException x) {
      if (x.errno() == AgentException.ENOENT) throw new IllegalArgumentException("COPY --from: no " + sourcePath + " in the source");
      throw x;
    }
    String name = sourcePath.substring(sourcePath.lastIndexOf('/') + 1);
    switch (e.kind()) {
      case DIRECTORY -> {
        directory(dest, e.mode() & 07777);
        tree(source, sourcePath, dest);
      }
      case FILE -> copyFile(source, sourcePath, placed(dest, intoDir, name), e.mode() & 07777);
      case SYMLINK -> symlink(placed(dest, intoDir, name), readlink(source, sourcePath));
      case OTHER -> throw new IllegalArgumentException("COPY --from: " + sourcePath + " is neither a file, a directory nor a link");
    }
  }

  private void tree(AgentConnection source, String from, String to) throws AgentException, InterruptedException, IOException {
    for (FileEntry c : source.files().list(from, MAX_LISTING)) {
      String s = from.equals("/") ? "/" + c.name() : from + "/" + c.name();
      String d = to + "/" + c.name();
      switch (c.kind()) {
        case DIRECTORY -> {
          directory(d, c.mode() & 07777);
          tree(source, s, d);
        }
        case FILE -> copyFile(source, s, d, c.mode() & 07777);
        case SYMLINK -> symlink(d, readlink(source, s));
        case OTHER -> { } // sockets, FIFOs and devices are not content
      }
    }
  }

  private void copyFile(AgentConnection source, String from, String to, int mode) throws AgentException, InterruptedException, IOException {
    try (GuestFileInput in = source.files().read(from)) {
      file(to, mode, in);
    }
  }

  private static String readlink(AgentConnection source, String path) throws AgentException, InterruptedException {
    StringBuilder out = new StringBuilder();
    var s = GuestCommands.run(source, List.of("readlink", path), java.util.Map.of(), "/", java.util.OptionalInt.empty(), java.util.OptionalInt.empty(),
        java.time.Duration.ofSeconds(30), out::append);
    if (s.exitCode() != 0 || out.isEmpty()) throw new IllegalArgumentException("COPY --from: the link " + path + " could not be read (readlink exited with " + s.exitCode() + ")");
    return out.toString();
  }

  /** --chown: the paths made, to the numeric ids given (looked up in this guest's /etc/passwd and /etc/group by the caller). */
  void chown(int uid, int gid) throws AgentException, InterruptedException {
    for (int i = 0; i < made.size(); i += CHOWN_BATCH) {
      List<String> argv = new ArrayList<>(List.of("chown", "-h", uid + ":" + gid));
      argv.addAll(made.subList(i, Math.min(made.size(), i + CHOWN_BATCH)));
      GuestCommands.runOrFail(target, argv, "COPY --chown (chown in the image)");
    }
  }

}
