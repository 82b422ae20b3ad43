package dev.kiln.vmm;

/**
 * The unprivileged account QEMU runs as. The daemon (root) hands it its run directory and disk;
 * everything else it needs (kernel, initramfs, template image) is world-readable.
 */
public record VmmUser(String name) {
  public VmmUser {
    if (!name.matches("[a-z_][a-z0-9_-]{0,31}")) throw new IllegalArgumentException("not a user name: '" + name + "'");
  }
}
