package dev.kiln.net;

import java.util.Optional;

/**
 * One sandbox's network as its owner asked for it.
 *
 * @param group      sandboxes with the same group reach each other on their group addresses;
 *                   nothing else can reach them there
 * @param isPublic   its ports are reachable through the proxy without the sandbox's access token
 * @param egressMbit bandwidth from the guest (0 = unlimited); ingressMbit likewise to the guest
 */
public record NetworkSpec(NetworkMode mode, EgressPolicy egress, Optional<String> group, boolean isPublic, int egressMbit, int ingressMbit) {
  public static final NetworkSpec NONE = new NetworkSpec(NetworkMode.NONE, EgressPolicy.OPEN, Optional.empty(), false, 0, 0);
  /** Internet mode with no rules of its own: anywhere public. */
  public static final NetworkSpec INTERNET = new NetworkSpec(NetworkMode.INTERNET, EgressPolicy.OPEN, Optional.empty(), false, 0, 0);
  /** 100 Gbit/s: beyond any tap; bounds what reaches tc. */
  public static final int MAX_MBIT = 100_000;

  public NetworkSpec {
    if (mode == null) throw new IllegalArgumentException("network mode is required");
    if (egress == null) egress = EgressPolicy.OPEN;
    if (group == null) group = Optional.empty();
    group.ifPresent(g -> {
      if (!g.matches("[a-z0-9][a-z0-9-]{0,62}")) throw new IllegalArgumentException("network.group must be 1-63 of [a-z0-9-], starting alphanumeric, got '" + g + "'");
    });
    if (egressMbit < 0 || egressMbit > MAX_MBIT || ingressMbit < 0 || ingressMbit > MAX_MBIT) {
      throw new IllegalArgumentException("egressMbit and ingressMbit must be 0 (unlimited) .. " + MAX_MBIT);
    }
    if (mode == NetworkMode.NONE && (group.isPresent() || egress.allowListed() || !egress.denyOut().isEmpty() || egressMbit > 0 || ingressMbit > 0 || isPublic)) {
      throw new IllegalArgumentException("network mode 'none' has no network: group, allowOut, denyOut, public and bandwidth limits need mode 'internet'");
    }
  }

  public boolean hasDevice() {
    return mode != NetworkMode.NONE;
  }

  /** The runtime-changeable part replaced: egress rules and bandwidth. Mode, group and public are fixed at create. */
  public NetworkSpec withRules(EgressPolicy newEgress, int newEgressMbit, int newIngressMbit) {
    return new NetworkSpec(mode, newEgress, group, isPublic, newEgressMbit, newIngressMbit);
  }
}
