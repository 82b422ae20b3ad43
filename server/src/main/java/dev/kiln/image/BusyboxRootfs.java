package dev.kiln.image;

import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

/**
 * A minimal root filesystem from the host's static busybox (Debian's busybox-static): a shell and
 * the usual tools in ~2 MB. Boots in the same time as any rootfs, so tests and benchmarks use it.
 */
public final class BusyboxRootfs {
  public static final Path HOST_BUSYBOX = Path.of("/bin/busybox");

  private BusyboxRootfs() {}

  public static void create(Path dir) throws IOException {
    if (!Files.isExecutable(HOST_BUSYBOX)) throw new IOException(HOST_BUSYBOX + " is missing: install Debian's busybox-static");
    for (String d : List.of("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root", "home", "var/tmp")) {
      Files.createDirectories(dir.resolve(d));
    }
    Files.setAttribute(dir.resolve("tmp"), "unix:mode", 01777); // sticky, like every /tmp
    Files.copy(HOST_BUSYBOX, dir.resolve("bin/busybox"), StandardCopyOption.REPLACE_EXISTING);
    String applets = CommandRunner.run(List.of(HOST_BUSYBOX.toString(), "--list"), Duration.ofSeconds(10)).stdout();
    for (String applet : applets.split("\n")) {
      String a = applet.strip();
      if (a.isEmpty() || a.equals("busybox") || !a.matches("[a-zA-Z0-9_.\\[-]+")) continue;
      Path link = dir.resolve("bin").resolve(a);
      if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) Files.createSymbolicLink(link, Path.of("busybox"));
    }
    Files.writeString(dir.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    Files.writeString(dir.resolve("etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  }

  /**
   * The same tree with the host's /bin/bash and the shared libraries it loads (as ldd lists them):
   * E2B's SDK runs every command as {@code /bin/bash -l -c}, so E2B's tests and benchmark need it.
   */
  public static void createWithBash(Path dir) throws IOException {
    create(dir);
    Files.deleteIfExists(dir.resolve("bin/bash"));
    copyProgram(Path.of("/bin/bash"), dir, "bin/bash");
  }

  /** Copies a host program to {@code target} in the tree, with the shared libraries it loads (as ldd lists them) at their own paths. */
  public static void copyProgram(Path program, Path dir, String target) throws IOException {
    Files.createDirectories(dir.resolve(target).getParent());
    Files.copy(program, dir.resolve(target), StandardCopyOption.COPY_ATTRIBUTES, StandardCopyOption.REPLACE_EXISTING);
    String ldd = CommandRunner.run(List.of("ldd", program.toString()), Duration.ofSeconds(10)).stdout();
    for (String line : ldd.split("\n")) {
      java.util.regex.Matcher m = LIBRARY.matcher(line.contains("=>") ? line.substring(line.indexOf("=>")) : line);
      if (!m.find()) continue;
      Path lib = Path.of(m.group(1));
      Path copy = dir.resolve(lib.toString().substring(1));
      Files.createDirectories(copy.getParent());
      Files.copy(lib.toRealPath(), copy, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** The first absolute path on a line of ldd's output. */
  private static final java.util.regex.Pattern LIBRARY = java.util.regex.Pattern.compile("(/\\S+)");
}
