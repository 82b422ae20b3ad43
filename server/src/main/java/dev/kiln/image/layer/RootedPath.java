package dev.kiln.image.layer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/**
 * Finds where a layer path lives under the rootfs, resolving symlinks the way the kernel would
 * inside {@code chroot(rootfs)}: an absolute target starts over at the rootfs, ".." stops at it.
 * Symlinks in the rootfs come from the image, so following one with the host's view (to /etc, or
 * up out of the rootfs) would let a layer write anywhere on the host.
 *
 * <p>Sound because nothing else changes the rootfs while a layer is applied: a directory checked
 * here is still a directory when the entry is written.
 */
public final class RootedPath {
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
    Path at = walk(pending, false);
    if (at == null) throw new LayerException(name.entry(), "more than " + MAX_SYMLINKS + " symlinks resolving \"" + name + "\"");
    return at.resolve(name.base());
  }

  /**
   * The host path of an absolute {@code path} inside the root with every symlink followed, the
   * last component's too; empty when a component is missing, one before the last is not a
   * directory (ENOTDIR), or the lookup meets more than {@link #MAX_SYMLINKS} symlinks (ELOOP).
   */
  public static Optional<Path> follow(Path root, String path) throws IOException {
    Deque<String> pending = new ArrayDeque<>(List.of(path.split("/")));
    return Optional.ofNullable(new RootedPath(root).walk(pending, true));
  }

  /**
   * Walks {@code pending} components from the root as the kernel would: a symlink's target
   * replaces it (an absolute one from the root), ".." stops at the root. Null on ELOOP, and with
   * {@code existing} also when a component is missing or a non-final one is not a directory;
   * without it a missing component is taken literally (a directory a layer has yet to make).
   */
  private Path walk(Deque<String> pending, boolean existing) throws IOException {
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
      if (Files.isSymbolicLink(next)) {
        if (++symlinks > MAX_SYMLINKS) return null;
        Path target = Files.readSymbolicLink(next);
        if (target.isAbsolute()) at = root;
        for (int i = target.getNameCount() - 1; i >= 0; i--) pending.addFirst(target.getName(i).toString());
        continue;
      }
      if (existing) {
        if (!Files.exists(next, LinkOption.NOFOLLOW_LINKS)) return null;
        boolean more = pending.stream().anyMatch(p -> !p.isEmpty() && !p.equals("."));
        if (more && !Files.isDirectory(next, LinkOption.NOFOLLOW_LINKS)) return null;
      }
      at = next;
    }
    return at;
  }
}
