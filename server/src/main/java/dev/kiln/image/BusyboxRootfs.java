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
}
