package dev.kiln.config;

import dev.kiln.vmm.VmmIdentities;

/** Who QEMU runs as (docs/adr/0020). Each key's description and range: its {@link ConfigDoc}, published as docs/config.md. */
public record VmmConfig(
    @ConfigDoc(value = "the uids VMs run as, one of its own per VM (and a gid of the same number), taken from this range and given back when the VM's run directory goes; no account is needed for them; `\"\"` runs QEMU as the daemon's own user, for development only",
        range = "FIRST-LAST, 1000 <= FIRST <= LAST < 2^31", defaultText = "`\"" + VmmIdentities.DEFAULT_RANGE + "\"`")
    String uids,
    @ConfigDoc(value = "the group every VM's uid is also in: it may open taps and /dev/net/tun and the snapshot memory files clones map (the installer creates it)", defaultText = "`\"" + VmmIdentities.DEFAULT_GROUP + "\"`")
    String group) {

  public static final VmmConfig DEFAULT = new VmmConfig(null, null);

  public VmmConfig {
    if (uids == null) uids = VmmIdentities.DEFAULT_RANGE;
    if (group == null) group = VmmIdentities.DEFAULT_GROUP;
    if (!uids.isEmpty()) VmmIdentities.parse(uids, java.util.OptionalInt.empty()); // a bad range is refused at load, naming it
    if (!group.isEmpty() && !group.matches("[a-z_][a-z0-9_-]{0,31}")) throw new IllegalArgumentException("vmm.group must be a group name, got '" + group + "'");
  }

  /** Whether QEMU runs as the daemon's own user. */
  public boolean disabled() {
    return uids.isEmpty();
  }
}
