package dev.kiln.net;

/** Whether a sandbox has a network at all. Policies (allow and deny lists, groups, limits) refine INTERNET. */
public enum NetworkMode {
  /** No network device in the guest: only the loopback interface. */
  NONE,
  /** A network device, NAT out through the host's default route, under the sandbox's egress policy. */
  INTERNET
}
