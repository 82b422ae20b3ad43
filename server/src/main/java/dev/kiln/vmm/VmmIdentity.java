package dev.kiln.vmm;

import java.util.OptionalInt;

/**
 * Who one VM's QEMU runs as: a uid (and a gid of the same number) no other VM has while this one
 * holds it, plus the shared group that may open taps and /dev/net/tun (network namespaces keep one
 * VM from reaching another's tap, so that group needs no per-VM separation).
 */
public record VmmIdentity(int uid, OptionalInt sharedGroup) {
  public VmmIdentity {
    if (uid <= 0) throw new IllegalArgumentException("a VMM uid must be an unprivileged one, got " + uid);
  }

  /** The gid of this VM's own files: the uid's number. */
  public int gid() {
    return uid;
  }

  /** setpriv's arguments that drop to this identity for good. */
  java.util.List<String> setprivArgs() {
    return java.util.List.of("setpriv", "--reuid=" + uid, "--regid=" + uid,
        sharedGroup.isPresent() ? "--groups=" + sharedGroup.getAsInt() : "--clear-groups", "--no-new-privs");
  }
}
