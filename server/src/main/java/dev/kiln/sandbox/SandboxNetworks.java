package dev.kiln.sandbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.net.Attachment;
import dev.kiln.net.EgressPolicy;
import dev.kiln.net.GuestAddressing;
import dev.kiln.net.NetworkMode;
import dev.kiln.net.NetworkService;
import dev.kiln.net.NetworkSpec;
import dev.kiln.net.proxy.ProxyTarget;
import dev.kiln.net.proxy.TcpForwarder;
import dev.kiln.store.NetworkRepository;
import dev.kiln.store.NetworkRow;
import dev.kiln.vmm.VmSpec;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sandboxes' networks as the sandbox package sees them: attach one at create (namespace, policy,
 * access token, stored), release it at delete, change its rules, its raw TCP forwards, and what
 * the port proxy needs to find a sandbox port. Without a {@link NetworkService} (networking off or
 * impossible on this host) every sandbox has mode none and asking for more is a clear 503.
 */
public final class SandboxNetworks implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SandboxNetworks.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Forwards per sandbox: each holds a host port. */
  private static final int MAX_FORWARDS = 16;

  private final NetworkRepository repo;
  /** The node whose slots these are: slots are unique per node. */
  private final String nodeId;
  private final Optional<NetworkService> service;
  private final String unavailable;
  private final NetworkMode defaultMode;
  private final InetAddress forwardBind;
  private final Map<String, Map<Integer, TcpForwarder>> forwards = new ConcurrentHashMap<>();

  /** How a stored spec looks (the API's words). */
  record StoredSpec(String mode, List<String> allowOut, List<String> denyOut, String group, boolean isPublic, int egressMbit, int ingressMbit) {
    static StoredSpec of(NetworkSpec s) {
      return new StoredSpec(s.mode().name(), s.egress().allowOut(), s.egress().denyOut(), s.group().orElse(null), s.isPublic(), s.egressMbit(), s.ingressMbit());
    }

    NetworkSpec toSpec() {
      return new NetworkSpec(NetworkMode.valueOf(mode), EgressPolicy.parse(allowOut, denyOut), Optional.ofNullable(group), isPublic, egressMbit, ingressMbit);
    }
  }

  /** A raw TCP forward: a host port to a guest port. */
  public record Forward(int hostPort, int guestPort, String address) {}

  public SandboxNetworks(NetworkRepository repo, String nodeId, Optional<NetworkService> service, String unavailableReason, NetworkMode defaultMode,
      InetAddress forwardBind) {
    this.repo = repo;
    this.nodeId = nodeId;
    this.service = service;
    this.unavailable = unavailableReason;
    this.defaultMode = defaultMode;
    this.forwardBind = forwardBind;
  }

  public NetworkMode defaultMode() {
    return service.isPresent() ? defaultMode : NetworkMode.NONE;
  }

  public boolean available() {
    return service.isPresent();
  }

  private NetworkService required() {
    return service.orElseThrow(() -> new KilnException(ErrorCode.NETWORK_UNAVAILABLE, "sandbox networking is not available on this host: " + unavailable));
  }

  /** Fails fast, before any VM work, when a sandbox asks for a network this daemon cannot give. */
  void checkAttachable(NetworkSpec spec) {
    if (spec.hasDevice()) required();
  }

  /** Attaches a new sandbox's network and stores it; empty for mode none. Undo with {@link #release}. */
  Optional<VmSpec.Nic> attach(String sandboxId, NetworkSpec spec) {
    return attach(sandboxId, spec, spec.isPublic() ? Optional.empty() : Optional.of(newToken()));
  }

  /** {@link #attach(String, NetworkSpec)} with the token the sandbox had already (one taken over from another node). */
  Optional<VmSpec.Nic> attach(String sandboxId, NetworkSpec spec, Optional<String> token) {
    if (!spec.hasDevice()) return Optional.empty();
    Attachment a = namespace(sandboxId, spec, token);
    try {
      repo.insert(new NetworkRow(sandboxId, a.slot().index(), json(StoredSpec.of(spec)), token, "[]"));
    } catch (RuntimeException e) {
      required().release(sandboxId);
      throw e;
    }
    return Optional.of(nicOf(a));
  }

  /** The sandbox's namespace with its rules here, not stored; a failure is the API's NETWORK_UNAVAILABLE. */
  private Attachment namespace(String sandboxId, NetworkSpec spec, Optional<String> token) {
    try {
      return required().attach(sandboxId, spec, token);
    } catch (RuntimeException e) {
      throw new KilnException(ErrorCode.NETWORK_UNAVAILABLE, "sandbox " + sandboxId + " network could not be set up: " + e.getMessage(), e);
    }
  }

  // ---- live migration -----------------------------------------------------------------------

  /**
   * A network here for a sandbox arriving by live migration: its namespace with the rules and
   * token it has, not stored yet (its network row is the source node's until the migration
   * commits, when {@link #arrivedRow} replaces it). Undo with {@link #releaseArrival}.
   */
  record Arrival(VmSpec.Nic nic, NetworkRow row) {}

  Optional<Arrival> attachArriving(String sandboxId) {
    Optional<NetworkRow> stored = repo.find(sandboxId);
    if (stored.isEmpty()) return Optional.empty();
    NetworkSpec spec = spec(stored.get());
    if (!spec.hasDevice()) return Optional.empty();
    Attachment a = namespace(sandboxId, spec, stored.get().accessToken());
    NetworkRow here = new NetworkRow(sandboxId, a.slot().index(), stored.get().specJson(), stored.get().accessToken(), stored.get().forwardsJson());
    return Optional.of(new Arrival(nicOf(a), here));
  }

  void releaseArrival(String sandboxId) {
    service.ifPresent(s -> s.release(sandboxId));
  }

  /**
   * Opens the sandbox's stored forwards here: after a migration's commit on its new node, or on its
   * old one again when the migration failed. A port something else holds is logged and left.
   */
  void openStoredForwards(String sandboxId) {
    for (Forward f : forwards(sandboxId)) {
      try {
        openForward(sandboxId, f.guestPort(), f.hostPort());
      } catch (KilnException e) {
        log.warn("sandbox={} forward of host port {} not opened: {}", sandboxId, f.hostPort(), e.getMessage());
      }
    }
  }

  /** A sandbox leaving by live migration stops listening on its forwards here first (its VM stops taking connections anyway). */
  void closeForwards(String sandboxId) {
    Map<Integer, TcpForwarder> f = forwards.remove(sandboxId);
    if (f != null) f.values().forEach(TcpForwarder::close);
  }

  /** The sandbox runs on another node now, whose network row replaced ours: only the namespace here goes. */
  void releaseDeparted(String sandboxId) {
    closeForwards(sandboxId);
    service.ifPresent(s -> s.release(sandboxId));
  }

  /** A scratch network for a template snapshot VM: closed to everything, released by the caller. */
  Optional<VmSpec.Nic> attachScratch(String name) {
    NetworkService net = required();
    NetworkSpec closed = new NetworkSpec(NetworkMode.INTERNET, EgressPolicy.parse(List.of(), List.of("0.0.0.0/0")), Optional.empty(), false, 0, 0);
    return Optional.of(nicOf(net.attach(name, closed, Optional.empty())));
  }

  /** A Dockerfile build VM's network: a sandbox's, with the build's policy; released with {@link #releaseScratch}. */
  VmSpec.Nic attachBuild(String name, NetworkSpec spec) {
    return nicOf(required().attach(name, spec, Optional.empty()));
  }

  void releaseScratch(String name) {
    service.ifPresent(s -> s.release(name));
  }

  private static VmSpec.Nic nicOf(Attachment a) {
    return new VmSpec.Nic(a.slot().netns(), GuestAddressing.TAP, GuestAddressing.MAC);
  }

  private static String newToken() {
    byte[] b = new byte[24];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** Removes the sandbox's forwards and namespace (the row goes with the sandbox's). */
  void release(String sandboxId) {
    Map<Integer, TcpForwarder> f = forwards.remove(sandboxId);
    if (f != null) f.values().forEach(TcpForwarder::close);
    service.ifPresent(s -> s.release(sandboxId));
    repo.delete(sandboxId);
  }

  /** Takes back the networks of the sandboxes a previous daemon left (their namespaces survived it). */
  void adoptAll(java.util.function.Predicate<String> sandboxExists) {
    for (NetworkRow r : repo.allOn(nodeId)) {
      if (!sandboxExists.test(r.sandboxId())) {
        repo.delete(r.sandboxId());
        continue;
      }
      if (service.isEmpty()) {
        log.warn("sandbox={} has a network but networking is off on this daemon; it stays unreachable", r.sandboxId());
        continue;
      }
      try {
        service.get().adopt(r.sandboxId(), r.slot(), spec(r), r.accessToken());
      } catch (RuntimeException e) {
        log.warn("sandbox={} network not re-adopted: {}", r.sandboxId(), e.getMessage());
        continue;
      }
      for (Forward f : forwardsOf(r)) {
        try {
          openForward(r.sandboxId(), f.guestPort(), f.hostPort());
        } catch (KilnException e) {
          log.warn("sandbox={} forward of host port {} not reopened: {}", r.sandboxId(), f.hostPort(), e.getMessage());
        }
      }
    }
  }

  /** Slots this node's stored networks hold: a starting daemon's sweep must leave them. */
  public static java.util.Set<Integer> storedSlots(NetworkRepository repo, String nodeId) {
    java.util.Set<Integer> out = new java.util.HashSet<>();
    repo.allOn(nodeId).forEach(r -> out.add(r.slot()));
    return out;
  }

  /** What the API shows: the spec, the sandbox's group address, its access token. */
  public record View(NetworkSpec spec, Optional<String> address, Optional<String> accessToken) {}

  public View view(String sandboxId) {
    return view(sandboxId, repo.find(sandboxId));
  }

  /** The view from a network row the caller read already (the sandbox list reads them all in one query). */
  View view(String sandboxId, Optional<NetworkRow> r) {
    if (r.isEmpty()) return new View(NetworkSpec.NONE, Optional.empty(), Optional.empty());
    Optional<String> address = service.flatMap(s -> s.find(sandboxId)).map(a -> a.slot().sandboxSide().getHostAddress());
    return new View(spec(r.get()), address, r.get().accessToken());
  }

  /** Replaces the egress rules and bandwidth of a sandbox with a network. */
  View update(String sandboxId, EgressPolicy egress, int egressMbit, int ingressMbit) {
    NetworkRow r = repo.find(sandboxId).orElseThrow(() -> noNetwork(sandboxId));
    NetworkSpec next = spec(r).withRules(egress, egressMbit, ingressMbit);
    required().update(sandboxId, next);
    repo.updateSpec(sandboxId, json(StoredSpec.of(next)));
    return view(sandboxId);
  }

  /** Copies a source's network settings to a fork: same rules and group, its own namespace and token. */
  NetworkSpec specOf(String sandboxId) {
    return repo.find(sandboxId).map(SandboxNetworks::spec).orElse(NetworkSpec.NONE);
  }

  private static KilnException noNetwork(String sandboxId) {
    return new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + sandboxId + " was created with network mode none; a network device cannot be added later");
  }

  // ---- forwards -----------------------------------------------------------------------------

  /** Listens on a host port (0 = any free one) and forwards its connections to the guest port. */
  Forward addForward(String sandboxId, int guestPort, int hostPort) {
    NetworkRow r = repo.find(sandboxId).orElseThrow(() -> noNetwork(sandboxId));
    if (guestPort < 1 || guestPort > 65535 || hostPort != 0 && (hostPort < 1024 || hostPort > 65535)) {
      // The daemon is root: privileged host ports stay the operator's.
      throw new KilnException(ErrorCode.INVALID_REQUEST, "guestPort must be 1..65535 and hostPort 0 (any free one) or 1024..65535");
    }
    if (forwards.getOrDefault(sandboxId, Map.of()).size() >= MAX_FORWARDS) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "sandbox " + sandboxId + " has " + MAX_FORWARDS + " forwards already");
    }
    Forward f = openForward(sandboxId, guestPort, hostPort);
    List<Forward> all = new ArrayList<>(forwardsOf(r));
    all.add(f);
    repo.updateForwards(sandboxId, json(all));
    return f;
  }

  private Forward openForward(String sandboxId, int guestPort, int hostPort) {
    try {
      TcpForwarder fw = TcpForwarder.start(new InetSocketAddress(forwardBind, hostPort), () -> guestAddress(sandboxId, guestPort));
      forwards.computeIfAbsent(sandboxId, k -> new ConcurrentHashMap<>()).put(fw.address().getPort(), fw);
      log.info("forward opened sandbox={} host_port={} guest_port={}", sandboxId, fw.address().getPort(), guestPort);
      return new Forward(fw.address().getPort(), guestPort, fw.address().getAddress().getHostAddress());
    } catch (BindException e) {
      throw new KilnException(ErrorCode.PORT_IN_USE, "host port " + hostPort + " is in use", e);
    } catch (IOException e) {
      throw new KilnException(ErrorCode.INTERNAL, "forward to sandbox " + sandboxId + " port " + guestPort + " not opened: " + e.getMessage(), e);
    }
  }

  List<Forward> forwards(String sandboxId) {
    return repo.find(sandboxId).map(SandboxNetworks::forwardsOf).orElse(List.of());
  }

  void removeForward(String sandboxId, int hostPort) {
    NetworkRow r = repo.find(sandboxId).orElseThrow(() -> noNetwork(sandboxId));
    List<Forward> all = new ArrayList<>(forwardsOf(r));
    if (!all.removeIf(f -> f.hostPort() == hostPort)) {
      throw new KilnException(ErrorCode.FORWARD_NOT_FOUND, "sandbox " + sandboxId + " has no forward on host port " + hostPort);
    }
    TcpForwarder fw = forwards.getOrDefault(sandboxId, Map.of()).remove(hostPort);
    if (fw != null) fw.close();
    repo.updateForwards(sandboxId, json(all));
  }

  private InetSocketAddress guestAddress(String sandboxId, int port) {
    Attachment a = required().find(sandboxId).orElseThrow(() -> new IllegalStateException("sandbox " + sandboxId + " has no network now"));
    return new InetSocketAddress(a.slot().sandboxSide(), port);
  }

  /** The port proxy's lookup: where a sandbox port is and the token it needs. */
  /**
   * Bytes the sandbox received and sent so far, as {rx, tx} from the guest's side: counted on the
   * host end of its link, so nothing the guest does changes them. Empty without a network.
   */
  public Optional<long[]> trafficBytes(String sandboxId) {
    return service.flatMap(s -> s.find(sandboxId)).flatMap(a -> {
      java.nio.file.Path stats = java.nio.file.Path.of("/sys/class/net", a.slot().hostVeth(), "statistics");
      // The host end sends what the guest receives.
      java.util.OptionalLong toGuest = dev.kiln.host.HostFacts.readLong(stats.resolve("tx_bytes"));
      java.util.OptionalLong fromGuest = dev.kiln.host.HostFacts.readLong(stats.resolve("rx_bytes"));
      return toGuest.isPresent() && fromGuest.isPresent() ? Optional.of(new long[] {toGuest.getAsLong(), fromGuest.getAsLong()}) : Optional.empty();
    });
  }

  public Optional<ProxyTarget> proxyTarget(String sandboxId, int port) {
    if (!SandboxId.isValid(sandboxId)) return Optional.empty(); // a snapshot VM's scratch network is no one's port
    return service.flatMap(s -> s.find(sandboxId)).map(a -> new ProxyTarget(new InetSocketAddress(a.slot().sandboxSide(), port), a.accessToken()));
  }

  // ---- JSON ---------------------------------------------------------------------------------

  private static NetworkSpec spec(NetworkRow r) {
    try {
      return JSON.readValue(r.specJson(), StoredSpec.class).toSpec();
    } catch (JsonProcessingException e) {
      throw new KilnException(ErrorCode.INTERNAL, "sandbox " + r.sandboxId() + " has an unreadable network record", e);
    }
  }

  private static List<Forward> forwardsOf(NetworkRow r) {
    try {
      return JSON.readValue(r.forwardsJson(), new TypeReference<List<Forward>>() {});
    } catch (JsonProcessingException e) {
      throw new KilnException(ErrorCode.INTERNAL, "sandbox " + r.sandboxId() + " has unreadable forwards", e);
    }
  }

  private static String json(Object o) {
    try {
      return JSON.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("always serializable", e);
    }
  }

  @Override
  public void close() {
    forwards.values().forEach(m -> m.values().forEach(TcpForwarder::close));
    forwards.clear();
    service.ifPresent(NetworkService::close);
  }
}
