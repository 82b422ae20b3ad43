package dev.kiln.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Root filesystems with and without something that can run, built from the host's real programs:
 * static busybox, and dynamically linked dash whose loader is reached through Debian's absolute
 * symlinks (which must resolve inside the root filesystem, never on the host).
 */
class RootfsCheckTest {
  private static final Path HOST_DASH = Path.of("/usr/bin/dash");
  private static final Path HOST_LOADER = Path.of("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
  @TempDir Path dir;

  private String refused(Path root) {
    return assertThrows(RootfsCheck.Unusable.class, () -> RootfsCheck.check(root)).getMessage();
  }

  @Test
  void busyboxHasAStaticShell() throws Exception {
    BusyboxRootfs.create(dir);
    assertEquals("shell: /bin/sh → /bin/busybox", RootfsCheck.check(dir));
  }

  @Test
  void anEmptyDirectoryOrOneWithOnlyTextIsRefused() throws Exception {
    String expected = "the root filesystem has no /bin/sh and no other program that could run (an x86-64 ELF file with an execute bit and, if "
        + "dynamically linked, its interpreter); a template needs a shell and its libc";
    assertEquals(expected, refused(dir));
    Files.writeString(dir.resolve("notes.txt"), "hello\n".repeat(20));
    Files.setPosixFilePermissions(dir.resolve("notes.txt"), PosixFilePermissions.fromString("rwxr-xr-x"));
    assertEquals(expected, refused(dir));
  }

  /** Debian's layout: /bin → usr/bin, /lib64 → usr/lib64, and the loader an absolute symlink into /lib → usr/lib. */
  private Path debianLike(boolean withLoader) throws Exception {
    Files.createDirectories(dir.resolve("usr/bin"));
    Files.createDirectories(dir.resolve("usr/lib64"));
    Files.createDirectories(dir.resolve("usr/lib/x86_64-linux-gnu"));
    Files.createSymbolicLink(dir.resolve("bin"), Path.of("usr/bin"));
    Files.createSymbolicLink(dir.resolve("lib"), Path.of("usr/lib"));
    Files.createSymbolicLink(dir.resolve("lib64"), Path.of("usr/lib64"));
    Files.copy(HOST_DASH, dir.resolve("usr/bin/dash"), StandardCopyOption.COPY_ATTRIBUTES);
    Files.createSymbolicLink(dir.resolve("usr/bin/sh"), Path.of("dash"));
    Files.createSymbolicLink(dir.resolve("usr/lib64/ld-linux-x86-64.so.2"), Path.of("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
    if (withLoader) Files.copy(HOST_LOADER, dir.resolve("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), StandardCopyOption.COPY_ATTRIBUTES);
    return dir;
  }

  @Test
  void aDynamicShellNeedsItsLoaderInsideTheRootfs() throws Exception {
    // The host has /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2: following the absolute symlink on the host would wrongly accept this.
    assertTrue(Files.exists(HOST_LOADER));
    assertEquals("/bin/sh is dynamically linked and needs the interpreter /lib64/ld-linux-x86-64.so.2 (the libc's loader), which the root "
        + "filesystem does not have; a template needs a shell and its libc", refused(debianLike(false)));
  }

  @Test
  void aDynamicShellWithItsLoaderPasses() throws Exception {
    assertEquals("shell: /bin/sh → /usr/bin/dash", RootfsCheck.check(debianLike(true)));
  }

  @Test
  void symlinksCannotLeaveTheRootfs() throws Exception {
    Files.createDirectories(dir.resolve("bin"));
    // ../../../../usr/bin/dash from /bin stops at the rootfs's root, as in a chroot: the host's dash is not found.
    Files.createSymbolicLink(dir.resolve("bin/sh"), Path.of("../../../../../../usr/bin/dash"));
    assertEquals("/bin/sh is a symlink to ../../../../../../usr/bin/dash, which does not exist in the root filesystem; a template needs a shell "
        + "and its libc", refused(dir));
  }

  @Test
  void aShellScriptNeedsItsInterpreter() throws Exception {
    Files.createDirectories(dir.resolve("bin"));
    Files.writeString(dir.resolve("bin/sh"), "#!/bin/missing -e\necho hi\n");
    Files.setPosixFilePermissions(dir.resolve("bin/sh"), PosixFilePermissions.fromString("rwxr-xr-x"));
    assertEquals("/bin/sh is a #! script for /bin/missing, and /bin/missing does not exist in the root filesystem; a template needs a shell "
        + "and its libc", refused(dir));
  }

  @Test
  void aShellWithoutExecutePermissionIsRefused() throws Exception {
    Files.createDirectories(dir.resolve("bin"));
    Files.copy(Path.of("/bin/busybox"), dir.resolve("bin/sh"));
    Files.setPosixFilePermissions(dir.resolve("bin/sh"), PosixFilePermissions.fromString("rw-r--r--"));
    assertEquals("/bin/sh has no execute permission; a template needs a shell and its libc", refused(dir));
  }

  @Test
  void noShellButAStaticProgramIsDistrolessAndPasses() throws Exception {
    Files.createDirectories(dir.resolve("etc"));
    Files.writeString(dir.resolve("etc/passwd"), "root:x:0:0:root:/root:/sbin/nologin\n");
    Files.copy(Path.of("/bin/busybox"), dir.resolve("hello"), StandardCopyOption.COPY_ATTRIBUTES);
    assertEquals("no /bin/sh: commands in its sandboxes must be given as argv (field 'command' needs a shell); runnable programs exist, such as /hello",
        RootfsCheck.check(dir));
  }
}
