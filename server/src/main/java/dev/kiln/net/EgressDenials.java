package dev.kiln.net;

/** Told of the egress a sandbox's policy denied, for the record of what its guest tried. */
public interface EgressDenials {
  /** A name its resolver would not look up, as it happens. */
  void denied(String sandboxId, String name);

  /** The packets its firewall refused over its network's life, told once, when the network goes (counted there, not per packet). */
  void refused(String sandboxId, long packets);
}
