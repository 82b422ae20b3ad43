package dev.kiln.net;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** An IPv4 network, "a.b.c.d/n" (a bare address is a /32). Host bits must be zero, as nft requires. */
public record Cidr(int network, int prefix) {
  private static final Pattern SHAPE = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})(/(\\d{1,2}))?");

  public Cidr {
    if (prefix < 0 || prefix > 32) throw new IllegalArgumentException("prefix must be 0..32, got " + prefix);
    if ((network & ~mask(prefix)) != 0) {
      throw new IllegalArgumentException(render(network) + "/" + prefix + " has host bits set; the network is " + render(network & mask(prefix)) + "/" + prefix);
    }
  }

  /** True when s looks like an address or CIDR rather than a domain name. */
  public static boolean looksLike(String s) {
    return SHAPE.matcher(s).matches();
  }

  public static Cidr parse(String s) {
    var m = SHAPE.matcher(s == null ? "" : s.strip());
    if (!m.matches()) throw new IllegalArgumentException("not an IPv4 address or CIDR: '" + s + "'");
    int a = 0;
    for (int i = 1; i <= 4; i++) {
      int octet = Integer.parseInt(m.group(i));
      if (octet > 255) throw new IllegalArgumentException("not an IPv4 address or CIDR: '" + s + "'");
      a = a << 8 | octet;
    }
    return new Cidr(a, m.group(6) == null ? 32 : Integer.parseInt(m.group(6)));
  }

  public static Cidr of(Inet4Address a) {
    return new Cidr(toInt(a), 32);
  }

  static int mask(int prefix) {
    return prefix == 0 ? 0 : -1 << (32 - prefix);
  }

  static int toInt(Inet4Address a) {
    byte[] b = a.getAddress();
    return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
  }

  static Inet4Address toAddress(int a) {
    try {
      return (Inet4Address) InetAddress.getByAddress(new byte[] {(byte) (a >>> 24), (byte) (a >>> 16), (byte) (a >>> 8), (byte) a});
    } catch (UnknownHostException e) {
      throw new IllegalStateException("four bytes are always an address", e);
    }
  }

  static String render(int a) {
    return (a >>> 24) + "." + (a >>> 16 & 0xff) + "." + (a >>> 8 & 0xff) + "." + (a & 0xff);
  }

  public boolean contains(Inet4Address a) {
    return (toInt(a) & mask(prefix)) == network;
  }

  public boolean overlaps(Cidr o) {
    int m = mask(Math.min(prefix, o.prefix));
    return (network & m) == (o.network & m);
  }

  /** The n-th address of this network. */
  Inet4Address address(long n) {
    if (n < 0 || n >= size()) throw new IllegalArgumentException(n + " is outside " + this);
    return toAddress(network + (int) n);
  }

  long size() {
    return 1L << (32 - prefix);
  }

  @Override
  public String toString() {
    return render(network) + "/" + prefix;
  }
}
