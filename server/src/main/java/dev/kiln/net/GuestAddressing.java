package dev.kiln.net;

/**
 * The guest side of every sandbox's network, the same in every one: each sandbox has a namespace of
 * its own, so clones restored from one snapshot keep the address, route and resolver they were
 * saved with and need no reconfiguration. Unique addresses live outside the guest (the namespace's
 * end of its veth), and the namespace translates between the two.
 */
public final class GuestAddressing {
  public static final String GUEST = "192.168.127.2";
  public static final String GATEWAY = "192.168.127.1";
  public static final int PREFIX = 30;
  /** Locally administered, fixed: a restored guest's driver already holds it. */
  public static final String MAC = "02:6b:69:6c:6e:02";
  public static final String TAP = "tap0";
  /**
   * The gateway's MAC, the tap's, the same in every namespace: a guest saved after it talked to its
   * gateway holds this in its ARP cache, and a fork restored into another namespace must find it.
   */
  public static final String GATEWAY_MAC = "02:6b:69:6c:6e:01";
  /** The namespace's end of the veth to the host. */
  public static final String UPLINK = "eth0";

  private GuestAddressing() {}

  /** The guest agent configures eth0 from this at boot (address/prefix, gateway, which is also its resolver). */
  public static String kernelParameter() {
    return "kiln.net=" + GUEST + "/" + PREFIX + "," + GATEWAY;
  }
}
