package dev.kiln.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/**
 * QEMU runs as an unprivileged uid of its own and must reach its run directory and the template and kernel
 * files by path. Every directory above them must let "others" traverse (o+x); a 0700 directory on
 * the way would make every boot fail with an obscure "Permission denied" from QEMU, so we say so
 * at start instead.
 */
final class DataDirAccess {
  private DataDirAccess() {}

  static void ensureTraversable(Path dir) throws IOException {
    Path p = dir.toAbsolutePath().normalize();
    Files.createDirectories(p);
    // The data directory is Kiln's own: open it for traversal (not listing) if it is not.
    Set<PosixFilePermission> own = Files.getPosixFilePermissions(p);
    if (!own.contains(PosixFilePermission.OTHERS_EXECUTE)) {
      EnumSet<PosixFilePermission> fixed = EnumSet.copyOf(own);
      fixed.add(PosixFilePermission.OTHERS_EXECUTE);
      Files.setPosixFilePermissions(p, fixed);
    }
    for (Path a = p.getParent(); a != null; a = a.getParent()) {
      if (!Files.getPosixFilePermissions(a).contains(PosixFilePermission.OTHERS_EXECUTE)) {
        throw new IOException("QEMU runs as an unprivileged uid and cannot reach " + dir + ": " + a
            + " does not allow others to traverse it (chmod o+x " + a + "), or set vmm.uids to \"\" in the config");
      }
    }
  }
}
