package dev.kiln.image.layer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Finds where a layer path lives under the rootfs, resolving symlinks the way the kernel would
 * inside {@code chroot(rootfs)}: an absolute target starts over at the rootfs, ".." stops at it.
 * Symlinks in the rootfs come from the image, so following one with the host's view (to /etc, or
 * up out of the rootfs) would let a layer write anywhere on the host.
 *
 * <p>Sound because nothing else changes the rootfs while a layer is applied: a directory checked
 * here is still a directory when the entry is written.
 */
final class RootedPath {
  /** The kernel gives up a lookup after this many symlinks with ELOOP (MAXSYMLINKS, linux/namei.h). */
  static final int MAX_SYMLINKS = 40;

  private final Path root;

  /** {@code root} must be a real path (no symlinks in it), as {@link Path#toRealPath} returns. */
  RootedPath(Path root) {
    this.root = root;
  }

  Path root() {
    return root;
  }

  /**
   * The host path of {@code name}: its directories resolved inside the root, its last component
   * appended as it is (never followed, the entry replaces or is that file itself). Directories
   * that do not exist yet are taken literally.
   */
  Path resolve(EntryName name) throws IOException {
    if (name.isRoot()) return root;
    Deque<String> pending = new ArrayDeque<>(name.components());
    pending.removeLast();
    Path at = root;
    int symlinks = 0;
    while (!pending.isEmpty()) {
      String c = pending.removeFirst();
      if (c.isEmpty() || c.equals(".")) continue;
      if (c.equals("..")) {
        if (!at.equals(root)) at = at.getParent();
        continue;
      }
      Path next = at.resolve(c);
      if (!Files.isSymbolicLink(next)) {
        at = next;
        continue;
      }
      if (++symlinks > MAX_SYMLINKS) {
        throw new LayerException(name.entry(), "more than " + MAX_SYMLINKS + " symlinks resolving \"" + name + "\"");
      }
      Path target = Files.readSymbolicLink(next);
      if (target.isAbsolute()) at = root;
      for (int i = target.getNameCount() - 1; i >= 0; i--) pending.addFirst(target.getName(i).toString());
    }
    return at.resolve(name.base());
  }
}
