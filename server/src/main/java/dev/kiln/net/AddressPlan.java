package dev.kiln.net;

/**
 * Names and addresses of namespace slots: slot i owns the i-th /30 of the pool (host end .1,
 * namespace end .2) and the names {@code <prefix>-<i>} (namespace) and {@code <prefix>v<i>} (host
 * veth). Deterministic, so a restarted daemon finds every slot of the previous one by name.
 */
public record AddressPlan(Cidr pool, String prefix) {
  public AddressPlan {
    if (pool.prefix() < 8 || pool.prefix() > 28) throw new IllegalArgumentException("network.addressPool must be a /8../28, got " + pool);
    // <prefix>v<index> must fit the kernel's 15-character interface names.
    if (!prefix.matches("[a-z][a-z0-9]{0,4}")) throw new IllegalArgumentException("network.prefix must be 1-5 of [a-z0-9], starting with a letter, got '" + prefix + "'");
  }

  public int capacity() {
    return (int) Math.min(pool.size() / 4, 100_000);
  }

  public Slot slot(int i) {
    if (i < 0 || i >= capacity()) throw new IllegalArgumentException("slot " + i + " is outside the address pool " + pool);
    return new Slot(i, prefix + "-" + i, prefix + "v" + i, pool.address(4L * i + 1), pool.address(4L * i + 2));
  }

  /** The slot a namespace name belongs to, or -1 if the name is not one of ours. */
  public int indexOfNetns(String name) {
    if (!name.startsWith(prefix + "-")) return -1;
    String rest = name.substring(prefix.length() + 1);
    if (!rest.matches("\\d{1,6}")) return -1;
    int i = Integer.parseInt(rest);
    return i < capacity() ? i : -1;
  }

  /** Host veth names start with this: the host firewall matches them with a wildcard. */
  public String vethPattern() {
    return prefix + "v*";
  }
}
