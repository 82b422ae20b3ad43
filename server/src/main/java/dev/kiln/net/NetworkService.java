package dev.kiln.net;

import dev.kiln.config.NetworkConfig;
import dev.kiln.host.CommandException;
import dev.kiln.host.CommandRunner;
import dev.kiln.net.dns.ClientPolicy;
import dev.kiln.net.dns.DnsServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sandbox networks on this host: a namespace per sandbox (taken from a pool made ahead), its
 * policy, its group peers, its bandwidth, the resolver its DNS goes to, and the sweep of what a
 * crashed daemon left. The sandbox package persists attachments; this class owns the kernel side.
 */
public final class NetworkService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NetworkService.class);
  /** Peers find each other as {@code <sandboxId>.kiln.internal} through the resolver. */
  public static final String PEER_DOMAIN = ".kiln.internal";

  private final NetworkConfig config;
  private final AddressPlan plan;
  private final Namespaces namespaces;
  private final HostFirewall firewall;
  /** Special ranges an allow-list CIDR can open (private networks), and those none can (host, metadata, pool). */
  private final List<Cidr> blocked;
  private final List<Cidr> hardBlocked;
  private final BitSet used = new BitSet();
  /** Slots are handed out round-robin, so a freed slot (and its address) is the last to be reused. */
  private int nextSlot;
  /** Serializes changes to who is attached and to group peer sets: a late writer must not undo a newer state. */
  private final Object topology = new Object();
  private final Map<String, Admissions> admissions = new ConcurrentHashMap<>();
  private final LinkedBlockingDeque<Slot> ready = new LinkedBlockingDeque<>();
  private final Map<String, Attachment> attached = new ConcurrentHashMap<>();
  private final Map<Inet4Address, String> bySandboxAddress = new ConcurrentHashMap<>();
  private final Object refillSignal = new Object();
  private final AtomicBoolean closed = new AtomicBoolean();
  private DnsServer dns;
  private Thread refiller;
  private final EgressDenials denials;

  private NetworkService(NetworkConfig config, String tapGroup, EgressDenials denials) {
    this.config = config;
    this.denials = denials;
    this.plan = new AddressPlan(Cidr.parse(config.addressPool()), config.prefix());
    this.namespaces = new Namespaces(tapGroup);
    this.firewall = new HostFirewall(plan);
    this.hardBlocked = hardBlockedRanges(plan.pool());
    this.blocked = new ArrayList<>(NftRuleset.SPECIAL);
    this.blocked.addAll(defaultRouteSubnet());
  }

  /** Why this host cannot give sandboxes a network, or empty when it can. */
  public static Optional<String> unavailableReason() {
    if (!"root".equals(System.getProperty("user.name"))) return Optional.of("the daemon is not root (namespaces, veths and nftables need it)");
    for (String tool : List.of("ip", "nft", "tc", "nsenter", "setfacl")) {
      boolean found = Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/usr/bin", tool)) || Files.isExecutable(Path.of("/sbin", tool));
      if (!found) return Optional.of("'" + tool + "' is not installed (scripts/install.sh installs iproute2, nftables and util-linux)");
    }
    return Optional.empty();
  }

  /**
   * Starts networking: the host table, the resolver, the sweep of namespaces no sandbox in
   * {@code kept} owns (a crashed daemon's), and the pool of ready namespaces. {@code denials} is
   * told of every name a sandbox's policy keeps its resolver from looking up.
   */
  public static NetworkService start(NetworkConfig config, String tapGroup, Set<Integer> kept, EgressDenials denials) throws IOException {
    NetworkService n = new NetworkService(config, tapGroup, denials);
    if (!tapGroup.isEmpty()) grantTunAccess(tapGroup);
    n.firewall.refuseSharedPool();
    n.firewall.install(config.dnsPort());
    try {
      n.sweep(kept);
      n.dns = DnsServer.start(new InetSocketAddress("0.0.0.0", config.dnsPort()), upstreams(config), n::clientOf);
    } catch (IOException | RuntimeException e) {
      n.firewall.remove(); // a daemon that does not start leaves no table behind
      throw e;
    }
    n.refiller = Thread.ofVirtual().name("netns-refill").start(n::refillLoop);
    log.info("networking ready pool={} prefix={} prewarmed={} dns_port={} upstreams={}", config.addressPool(), config.prefix(),
        config.prewarmed(), config.dnsPort(), upstreams(config));
    return n;
  }

  /**
   * The unprivileged QEMU opens /dev/net/tun to attach to the tap made for it (it can attach only
   * to taps of its group; making one needs CAP_NET_ADMIN). Some hosts leave the device 0600, and
   * /dev forgets ACLs at reboot, so the grant is made at every start.
   */
  private static void grantTunAccess(String group) {
    CommandRunner.run(List.of("setfacl", "-m", "g:" + group + ":rw", "/dev/net/tun"), java.time.Duration.ofSeconds(10));
    log.info("granted group {} read-write on /dev/net/tun (ACL) so QEMU can open its tap", group);
  }

  private static List<InetSocketAddress> upstreams(NetworkConfig c) throws IOException {
    List<InetSocketAddress> out = new ArrayList<>();
    for (String u : c.dnsUpstreams()) {
      int colon = u.lastIndexOf(':');
      out.add(new InetSocketAddress(InetAddress.getByName(u.substring(0, colon)), Integer.parseInt(u.substring(colon + 1))));
    }
    if (out.isEmpty()) {
      Path resolv = Path.of("/etc/resolv.conf");
      if (Files.isReadable(resolv)) {
        for (String line : Files.readAllLines(resolv)) {
          String[] f = line.strip().split("\\s+");
          if (f.length >= 2 && f[0].equals("nameserver") && Cidr.looksLike(f[1])) out.add(new InetSocketAddress(InetAddress.getByName(f[1]), 53));
        }
      }
    }
    return out;
  }

  /**
   * What no sandbox reaches whatever its allow list says: loopback, link-local (the metadata
   * service), multicast and reserved ranges, this daemon's address pool (other sandboxes are
   * reached only as group peers), and every address of the host.
   */
  private static List<Cidr> hardBlockedRanges(Cidr pool) {
    List<Cidr> out = new ArrayList<>(NftRuleset.ALWAYS_BLOCKED);
    out.add(pool);
    try {
      for (NetworkInterface nif : NetworkInterface.networkInterfaces().toList()) {
        for (var ia : nif.getInterfaceAddresses()) {
          if (ia.getAddress() instanceof Inet4Address a) out.add(Cidr.of(a));
        }
      }
    } catch (SocketException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** The subnet of the default route's interface: the machines next to the host, blocked unless an allow-list CIDR names them. */
  private static List<Cidr> defaultRouteSubnet() {
    List<Cidr> out = new ArrayList<>();
    try {
      String defaultIf = defaultRouteInterface();
      NetworkInterface nif = defaultIf.isEmpty() ? null : NetworkInterface.getByName(defaultIf);
      if (nif == null) return out;
      for (var ia : nif.getInterfaceAddresses()) {
        if (!(ia.getAddress() instanceof Inet4Address a)) continue;
        int p = ia.getNetworkPrefixLength();
        out.add(new Cidr(Cidr.toInt(a) & Cidr.mask(p), p));
      }
    } catch (SocketException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private static String defaultRouteInterface() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/net/route"))) {
        String[] f = line.split("\\s+");
        if (f.length > 2 && f[1].equals("00000000")) return f[0];
      }
    } catch (IOException e) {
      log.warn("cannot read /proc/net/route: {}", e.toString());
    }
    return "";
  }

  /** Removes namespaces and host veths of ours that no kept slot owns. */
  private void sweep(Set<Integer> kept) {
    synchronized (used) {
      kept.forEach(used::set);
    }
    int removed = 0;
    Set<Integer> seen = new LinkedHashSet<>();
    for (String ns : Namespaces.existingNamespaces()) {
      int i = plan.indexOfNetns(ns);
      if (i >= 0) seen.add(i);
    }
    for (String dev : Namespaces.existingInterfaces()) {
      if (dev.startsWith(plan.prefix() + "v") && dev.substring(plan.prefix().length() + 1).matches("\\d{1,6}")) {
        int i = Integer.parseInt(dev.substring(plan.prefix().length() + 1));
        if (i < plan.capacity()) seen.add(i);
      }
    }
    for (int i : seen) {
      if (kept.contains(i)) continue;
      namespaces.destroy(plan.slot(i));
      removed++;
    }
    if (removed > 0) log.info("removed {} leftover network namespaces of a previous daemon", removed);
  }

  // ---- the ready pool -----------------------------------------------------------------------

  private Slot allocate() {
    synchronized (used) {
      int i = used.nextClearBit(nextSlot);
      if (i >= plan.capacity()) i = used.nextClearBit(0);
      if (i >= plan.capacity()) throw new IllegalStateException("address pool " + plan.pool() + " is exhausted (" + plan.capacity() + " namespaces)");
      used.set(i);
      nextSlot = i + 1;
      return plan.slot(i);
    }
  }

  private void free(Slot s) {
    synchronized (used) {
      used.clear(s.index());
    }
  }

  private Slot make() {
    Slot s = allocate();
    long start = System.nanoTime();
    try {
      namespaces.create(s, config.dnsPort(), blocked, hardBlocked);
    } catch (RuntimeException e) {
      namespaces.destroy(s);
      free(s);
      throw e;
    }
    log.debug("namespace made netns={} took_ms={}", s.netns(), (System.nanoTime() - start) / 1_000_000);
    return s;
  }

  private void refillLoop() {
    while (!closed.get()) {
      try {
        if (ready.size() < config.prewarmed()) {
          ready.add(make());
          continue;
        }
        synchronized (refillSignal) {
          refillSignal.wait(1000);
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.warn("could not make a spare network namespace: {}", e.getMessage());
        try {
          Thread.sleep(5000);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  private Slot take() {
    Slot s = ready.pollFirst();
    synchronized (refillSignal) {
      refillSignal.notifyAll();
    }
    return s != null ? s : make();
  }

  // ---- attachments --------------------------------------------------------------------------

  /** Gives a sandbox a namespace with its policy applied. Undo with {@link #release}. */
  public Attachment attach(String sandboxId, NetworkSpec spec, Optional<String> accessToken) {
    if (!spec.hasDevice()) throw new IllegalArgumentException("mode none has no network to attach");
    Slot s = take();
    Attachment a = new Attachment(sandboxId, s, spec, accessToken);
    try {
      configure(a);
    } catch (RuntimeException e) {
      namespaces.destroy(s);
      free(s);
      throw e;
    }
    register(a);
    log.info("network attached sandbox={} netns={} address={} group={} egress_mbit={} ingress_mbit={}", sandboxId, s.netns(),
        s.sandboxSide().getHostAddress(), spec.group().orElse("-"), spec.egressMbit(), spec.ingressMbit());
    return a;
  }

  /** A restarted daemon takes back a sandbox's namespace (made again if it is gone: the host rebooted). */
  public Attachment adopt(String sandboxId, int slotIndex, NetworkSpec spec, Optional<String> accessToken) {
    Slot s = plan.slot(slotIndex);
    synchronized (used) {
      used.set(slotIndex);
    }
    try {
      if (Files.exists(Path.of(s.netnsPath()))) namespaces.applyBase(s, config.dnsPort(), blocked, hardBlocked); // this daemon's rules, not an older one's
      else namespaces.create(s, config.dnsPort(), blocked, hardBlocked);
      Attachment a = new Attachment(sandboxId, s, spec, accessToken);
      configure(a);
      register(a);
      return a;
    } catch (RuntimeException e) {
      // Not adopted: nothing must keep the namespace or the slot.
      namespaces.destroy(s);
      free(s);
      throw e;
    }
  }

  private void configure(Attachment a) {
    namespaces.nft(a.slot(), NftRuleset.policy(a.spec()));
    namespaces.bandwidth(a.slot(), a.spec().egressMbit(), a.spec().ingressMbit());
  }

  private void register(Attachment a) {
    synchronized (topology) {
      attached.put(a.sandboxId(), a);
      admissions.put(a.sandboxId(), new Admissions());
      bySandboxAddress.put(a.slot().sandboxSide(), a.sandboxId());
      a.spec().group().ifPresent(this::refreshGroup);
    }
  }

  /** Replaces a sandbox's egress rules and bandwidth while it runs. */
  public Attachment update(String sandboxId, NetworkSpec spec) {
    Attachment next;
    synchronized (topology) {
      Attachment a = attached.get(sandboxId);
      if (a == null) throw new IllegalArgumentException("sandbox " + sandboxId + " has no network");
      next = a.withSpec(spec);
      Admissions adm = admissions.get(sandboxId);
      synchronized (adm) {
        configure(next); // flushes the admitted names: the new lists govern from the next lookup
        adm.clear();
        attached.put(sandboxId, next);
      }
    }
    log.info("network policy changed sandbox={} allow={} deny={} egress_mbit={} ingress_mbit={}", sandboxId, spec.egress().allowOut(),
        spec.egress().denyOut(), spec.egressMbit(), spec.ingressMbit());
    return next;
  }

  public Optional<Attachment> find(String sandboxId) {
    return Optional.ofNullable(attached.get(sandboxId));
  }

  /** Removes a sandbox's namespace and everything in it; its slot is reused after. */
  public void release(String sandboxId) {
    Attachment a;
    synchronized (topology) {
      a = attached.remove(sandboxId);
      if (a == null) return;
      bySandboxAddress.remove(a.slot().sandboxSide());
      Admissions adm = admissions.remove(sandboxId);
      if (adm != null) {
        synchronized (adm) {
          adm.clear(); // an admission in flight sees the sandbox gone and writes nothing
        }
      }
      a.spec().group().ifPresent(this::refreshGroup);
    }
    long refused = namespaces.refusedPackets(a.slot());
    if (refused > 0) denials.refused(sandboxId, refused);
    try {
      namespaces.destroy(a.slot());
    } catch (CommandException e) {
      log.warn("sandbox={} namespace {} not fully removed: {}", sandboxId, a.slot().netns(), e.getMessage());
    }
    free(a.slot()); // only now: the slot's namespace is gone
    log.info("network released sandbox={} netns={}", sandboxId, a.slot().netns());
  }

  /** Sets every member's peer set to the other members' addresses; called holding {@link #topology}. */
  private void refreshGroup(String group) {
    List<Attachment> members = attached.values().stream().filter(m -> m.spec().group().equals(Optional.of(group))).toList();
    for (Attachment m : members) {
      Collection<Inet4Address> others = members.stream().filter(o -> o != m).map(o -> o.slot().sandboxSide()).collect(Collectors.toList());
      try {
        namespaces.nft(m.slot(), NftRuleset.peers(others));
      } catch (CommandException e) {
        log.warn("group={} peers of sandbox={} not updated: {}", group, m.sandboxId(), e.getMessage());
      }
    }
  }


  // ---- the resolver's view ------------------------------------------------------------------

  private Optional<ClientPolicy> clientOf(InetAddress source) {
    if (!(source instanceof Inet4Address a)) return Optional.empty();
    String id = bySandboxAddress.get(a);
    if (id == null) return Optional.empty();
    return Optional.of(new SandboxResolverPolicy(id));
  }

  /** What the resolver may answer one sandbox; reads the attachment on every query, so policy changes apply at once. */
  private final class SandboxResolverPolicy implements ClientPolicy {
    private final String sandboxId;

    SandboxResolverPolicy(String sandboxId) {
      this.sandboxId = sandboxId;
    }

    @Override
    public boolean allows(String name) {
      Attachment a = attached.get(sandboxId);
      if (a == null) return false;
      if (peer(a, name).isPresent()) return true;
      // Peer names of other groups are not sent upstream: sandbox ids stay on this host.
      return !canonical(name).endsWith(PEER_DOMAIN) && a.spec().egress().resolves(name);
    }

    @Override
    public void denied(String name) {
      denials.denied(sandboxId, name);
    }

    @Override
    public Optional<List<Inet4Address>> localAnswer(String name) {
      Attachment a = attached.get(sandboxId);
      return a == null ? Optional.empty() : peer(a, name).map(p -> List.of(p.slot().sandboxSide()));
    }

    @Override
    public void resolved(String name, List<Inet4Address> addresses, int ttlSeconds) {
      Admissions adm = admissions.get(sandboxId);
      if (adm == null || addresses.isEmpty()) return;
      // One admission at a time per sandbox, and none for what is admitted already: a guest looping
      // on lookups must not turn into a stream of nft processes.
      synchronized (adm) {
        Attachment a = attached.get(sandboxId);
        if (a == null || admissions.get(sandboxId) != adm || !a.spec().egress().admitsResolved(name)) return;
        int ttl = Math.clamp(ttlSeconds, NftRuleset.MIN_RESOLVED_SECONDS, NftRuleset.MAX_RESOLVED_SECONDS);
        List<Inet4Address> fresh = adm.needing(addresses, ttl);
        if (fresh.isEmpty()) return;
        if (adm.size() + fresh.size() > NftRuleset.MAX_RESOLVED) {
          throw new IllegalStateException("sandbox " + sandboxId + " has " + NftRuleset.MAX_RESOLVED + " admitted addresses already");
        }
        namespaces.nft(a.slot(), NftRuleset.resolved(fresh, ttl));
        adm.admitted(fresh, ttl);
        log.debug("sandbox={} admitted name={} addresses={} ttl_s={}", sandboxId, name, fresh, ttl);
      }
    }
  }

  private static String canonical(String name) {
    String n = name.toLowerCase(java.util.Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }

  private Optional<Attachment> peer(Attachment self, String name) {
    String n = canonical(name);
    if (self.spec().group().isEmpty() || !n.endsWith(PEER_DOMAIN)) return Optional.empty();
    Attachment other = attached.get(n.substring(0, n.length() - PEER_DOMAIN.length()));
    return other != null && other != self && other.spec().group().equals(self.spec().group()) ? Optional.of(other) : Optional.empty();
  }


  /**
   * Stops the resolver and the pool of spare namespaces, and takes the host table away; namespaces
   * of attached sandboxes stay for the next daemon. While any does, the table is parked instead of
   * removed: their VMs run on, and their NAT and the guards against spoofed peers must hold (the
   * resolver's rules go with the resolver).
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) return;
    if (refiller != null) {
      refiller.interrupt();
      try {
        refiller.join(java.time.Duration.ofSeconds(30)); // it may be making a namespace: let it finish, then destroy it with the rest
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (dns != null) dns.close();
    Slot s;
    while ((s = ready.pollFirst()) != null) {
      namespaces.destroy(s);
      free(s);
    }
    int left;
    synchronized (used) {
      left = used.cardinality(); // attached sandboxes, and stored ones not adopted (yet)
    }
    if (left == 0) {
      firewall.remove();
      log.info("host table {}_host removed: no sandbox network is left on this host", plan.prefix());
    } else {
      firewall.park();
      log.info("host table {}_host kept without the resolver's rules for {} sandbox networks that outlive the daemon (NAT, spoofing guard)",
          plan.prefix(), left);
    }
  }
}
