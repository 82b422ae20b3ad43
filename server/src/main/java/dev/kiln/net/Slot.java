package dev.kiln.net;

import java.net.Inet4Address;

/**
 * One network namespace's place in the address plan: the namespace's name, its veth pair's host
 * end, and the /30 the pair lives in. {@code sandboxSide} is the sandbox's group address: what its
 * peers, the port proxy and forwards connect to (the namespace translates it to the guest).
 */
public record Slot(int index, String netns, String hostVeth, Inet4Address hostSide, Inet4Address sandboxSide) {
  public String netnsPath() {
    return "/run/netns/" + netns;
  }
}
