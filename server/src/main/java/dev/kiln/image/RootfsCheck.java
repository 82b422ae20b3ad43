package dev.kiln.image;

import dev.kiln.image.layer.RootedPath;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Optional;
import java.util.Set;

/**
 * Whether a root filesystem can run commands, checked before it becomes a template: an empty
 * directory, or one with only data files, would build fine and fail at the first exec.
 *
 * <p>Its /bin/sh must be a program the guest can start: an x86-64 (or i386) ELF file whose
 * interpreter, if it is dynamically linked (the libc's loader, such as
 * /lib64/ld-linux-x86-64.so.2), is in the root filesystem too, or a #! script whose interpreter
 * is. A root filesystem without /bin/sh at all is accepted if it has at least one such program
 * (distroless images: commands are then given as argv). Every path, symlinks included, is
 * resolved inside the root filesystem as {@code chroot} would: an absolute symlink target starts
 * over at its root, and nothing on the host is ever looked at.
 */
final class RootfsCheck {
  /** #! interpreters nest at most this deep (the kernel's binfmt_script allows 4 levels). */
  private static final int MAX_SCRIPT_DEPTH = 4;
  /** ELF e_machine values (elf.h): EM_386, EM_X86_64. */
  private static final int EM_386 = 3;
  private static final int EM_X86_64 = 62;
  /** PT_INTERP (elf.h): the segment naming the program's interpreter. */
  private static final int PT_INTERP = 3;
  /** More program headers than any real program has; a bound for a hostile file. */
  private static final int MAX_PROGRAM_HEADERS = 512;
  /** PATH_MAX: an interpreter name longer than this is not a path the kernel would open. */
  private static final int MAX_PATH = 4096;
  /** Files looked at for a runnable program in a root filesystem without /bin/sh; a distroless image has a few hundred. */
  private static final int MAX_SCANNED = 200_000;

  /** Why the root filesystem cannot be a template, for the build's error. */
  static final class Unusable extends Exception {
    Unusable(String message) {
      super(message);
    }
  }

  private final Path root;

  private RootfsCheck(Path root) {
    this.root = root;
  }

  /**
   * Checks the root filesystem directory {@code root}.
   *
   * @return what was found, for the build log
   * @throws Unusable when nothing in it could run, with what is missing
   */
  static String check(Path root) throws IOException, Unusable {
    return new RootfsCheck(root.toRealPath()).check();
  }

  private String check() throws IOException, Unusable {
    if (entry("/bin/sh").isPresent()) {
      String problem = runnable("/bin/sh", 0);
      if (problem != null) throw new Unusable(problem + "; a template needs a shell and its libc");
      return "shell: /bin/sh" + describe("/bin/sh");
    }
    Optional<String> program = anyRunnable();
    if (program.isEmpty()) {
      throw new Unusable("the root filesystem has no /bin/sh and no other program that could run (an x86-64 ELF file with an execute bit "
          + "and, if dynamically linked, its interpreter); a template needs a shell and its libc");
    }
    return "no /bin/sh: commands in its sandboxes must be given as argv (field 'command' needs a shell); runnable programs exist, such as "
        + program.get();
  }

  /** Null if the program at {@code path} (inside the root) can be started, else why not. */
  private String runnable(String path, int depth) throws IOException {
    Optional<Path> file = resolve(path);
    if (file.isEmpty()) {
      Optional<Path> link = entry(path).filter(Files::isSymbolicLink);
      return link.isPresent() ? path + " is a symlink to " + Files.readSymbolicLink(link.get()) + ", which does not exist in the root filesystem"
          : path + " does not exist in the root filesystem";
    }
    Path f = file.get();
    if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) return path + " is not a regular file";
    Set<PosixFilePermission> mode = Files.getPosixFilePermissions(f, LinkOption.NOFOLLOW_LINKS);
    if (!mode.contains(PosixFilePermission.OWNER_EXECUTE) && !mode.contains(PosixFilePermission.GROUP_EXECUTE)
        && !mode.contains(PosixFilePermission.OTHERS_EXECUTE)) {
      return path + " has no execute permission";
    }
    try (SeekableByteChannel ch = Files.newByteChannel(f, Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
      ByteBuffer head = ByteBuffer.allocate(64);
      while (head.hasRemaining() && ch.read(head) > 0) {
        // read the whole header
      }
      head.flip();
      if (head.remaining() >= 4 && head.getInt(0) == 0x7f454c46) return elf(path, ch, head);
      if (head.remaining() >= 2 && head.get(0) == '#' && head.get(1) == '!') return script(path, ch, depth);
      return path + " is neither an ELF program nor a #! script";
    }
  }

  /** The directory entry itself (a symlink is not followed), if its directory resolves and it exists. */
  private Optional<Path> entry(String path) throws IOException {
    int slash = path.lastIndexOf('/');
    Optional<Path> dir = resolve(path.substring(0, slash));
    if (dir.isEmpty() || !Files.isDirectory(dir.get(), LinkOption.NOFOLLOW_LINKS)) return Optional.empty();
    Path e = dir.get().resolve(path.substring(slash + 1));
    return Files.exists(e, LinkOption.NOFOLLOW_LINKS) ? Optional.of(e) : Optional.empty();
  }

  /** An ELF file: for this machine, and its interpreter present. */
  private String elf(String path, SeekableByteChannel ch, ByteBuffer head) throws IOException {
    Optional<String> interp;
    try {
      interp = Elf.interpreter(ch, head);
    } catch (Elf.NotForThisMachine e) {
      return path + " is " + e.getMessage() + ", not a program for the x86-64 guest";
    }
    if (interp.isEmpty()) return null; // static
    if (resolve(interp.get()).filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).isEmpty()) {
      return path + " is dynamically linked and needs the interpreter " + interp.get() + " (the libc's loader), which the root filesystem does not have";
    }
    return null;
  }

  /** A #! script: its interpreter must be runnable in turn. */
  private String script(String path, SeekableByteChannel ch, int depth) throws IOException {
    if (depth >= MAX_SCRIPT_DEPTH) return path + " is a #! script whose interpreters nest deeper than " + MAX_SCRIPT_DEPTH;
    ch.position(0);
    ByteBuffer line = ByteBuffer.allocate(256);
    ch.read(line);
    String first = new String(line.array(), 2, line.position() - 2, StandardCharsets.ISO_8859_1).lines().findFirst().orElse("").strip();
    String interpreter = first.split("\\s+", 2)[0];
    if (!interpreter.startsWith("/")) return path + " is a #! script without an absolute interpreter path";
    String problem = runnable(interpreter, depth + 1);
    return problem == null ? null : path + " is a #! script for " + interpreter + ", and " + problem;
  }

  /** " → /usr/bin/dash" for the build log: where the path leads inside the root filesystem. */
  private String describe(String path) throws IOException {
    Optional<Path> f = resolve(path);
    if (f.isEmpty()) return "";
    String target = "/" + root.relativize(f.get());
    return target.equals(path) ? "" : " → " + target;
  }

  /** The first runnable program found by walking the root filesystem (symlinks not followed), if any. */
  private Optional<String> anyRunnable() throws IOException {
    String[] found = {null};
    int[] seen = {0};
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        if (++seen[0] > MAX_SCANNED) return FileVisitResult.TERMINATE;
        if (!attrs.isRegularFile() || attrs.size() < 52) return FileVisitResult.CONTINUE; // 52: the smallest ELF header
        String path = "/" + root.relativize(file);
        if (runnable(path, MAX_SCRIPT_DEPTH - 1) == null) {
          found[0] = path;
          return FileVisitResult.TERMINATE;
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) {
        return FileVisitResult.CONTINUE;
      }
    });
    return Optional.ofNullable(found[0]);
  }

  /** The host path of {@code path} inside the root, every symlink followed as inside {@code chroot(root)}; empty if missing or looping. */
  Optional<Path> resolve(String path) throws IOException {
    return RootedPath.follow(root, path);
  }

  /**
   * The ELF header fields that say whether a file runs here and what loads it.
   *
   * <pre>
   *  e_ident[0..3] 7f 'E' 'L' 'F'  [4] class 1=32 2=64  [5] data 1=little-endian
   *  e_machine u16 @18 · e_phoff @28 (u32) / @32 (u64) · e_phentsize, e_phnum u16 @42,44 / @54,56
   *  program header: p_type u32 @0 · p_offset @4 (u32) / @8 (u64) · p_filesz @16 (u32) / @32 (u64)
   * </pre>
   */
  static final class Elf {
    private Elf() {}

    static final class NotForThisMachine extends Exception {
      NotForThisMachine(String what) {
        super(what);
      }
    }

    /** The PT_INTERP path, or empty for a static program. */
    static Optional<String> interpreter(SeekableByteChannel ch, ByteBuffer head) throws IOException, NotForThisMachine {
      if (head.remaining() < 52) throw new NotForThisMachine("a truncated ELF file");
      int cls = head.get(4);
      if (head.get(5) != 1) throw new NotForThisMachine("a big-endian ELF file");
      head.order(ByteOrder.LITTLE_ENDIAN);
      int machine = Short.toUnsignedInt(head.getShort(18));
      boolean is64 = cls == 2;
      if (is64 ? machine != EM_X86_64 : cls != 1 || machine != EM_386) throw new NotForThisMachine("an ELF file for machine type " + machine);
      if (is64 && head.remaining() < 64) throw new NotForThisMachine("a truncated ELF file");
      long phoff = is64 ? head.getLong(32) : Integer.toUnsignedLong(head.getInt(28));
      int phentsize = Short.toUnsignedInt(head.getShort(is64 ? 54 : 42));
      int phnum = Short.toUnsignedInt(head.getShort(is64 ? 56 : 44));
      if (phnum > MAX_PROGRAM_HEADERS || phentsize < (is64 ? 56 : 32) || phoff < 0 || phoff > ch.size()) {
        throw new NotForThisMachine("a malformed ELF file");
      }
      ByteBuffer ph = ByteBuffer.allocate(phentsize).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < phnum; i++) {
        ph.clear();
        ch.position(phoff + (long) i * phentsize);
        while (ph.hasRemaining() && ch.read(ph) > 0) {
          // whole entry
        }
        if (ph.hasRemaining()) throw new NotForThisMachine("a truncated ELF file");
        if (ph.getInt(0) != PT_INTERP) continue;
        long offset = is64 ? ph.getLong(8) : Integer.toUnsignedLong(ph.getInt(4));
        long size = is64 ? ph.getLong(32) : Integer.toUnsignedLong(ph.getInt(16));
        if (size < 2 || size > MAX_PATH || offset < 0 || offset + size > ch.size()) throw new NotForThisMachine("a malformed ELF file");
        ByteBuffer name = ByteBuffer.allocate((int) size);
        ch.position(offset);
        while (name.hasRemaining() && ch.read(name) > 0) {
          // whole name
        }
        String s = new String(name.array(), 0, name.position(), StandardCharsets.ISO_8859_1);
        int nul = s.indexOf('\0');
        return Optional.of(nul >= 0 ? s.substring(0, nul) : s);
      }
      return Optional.empty();
    }
  }
}
