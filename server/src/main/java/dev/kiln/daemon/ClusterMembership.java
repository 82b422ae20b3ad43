package dev.kiln.daemon;

import dev.kiln.cluster.Leadership;
import dev.kiln.cluster.Node;
import dev.kiln.cluster.NodeCapacity;
import dev.kiln.cluster.NodeHeartbeat;
import dev.kiln.cluster.NodeIdentity;
import dev.kiln.cluster.NodeLiveness;
import dev.kiln.cluster.NodeRegistry;
import dev.kiln.cluster.NodeRole;
import dev.kiln.cluster.NodeState;
import dev.kiln.config.ClusterConfig;
import dev.kiln.cluster.NodeCredential;
import dev.kiln.sandbox.Placement;
import dev.kiln.sandbox.ThisNode;
import dev.kiln.store.Database;
import dev.kiln.store.LeaseRepository;
import dev.kiln.store.NodeRepository;
import dev.kiln.store.StoreException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This daemon as a node of its cluster (a one-host install is a cluster of one combined node): its
 * id, its registration and heartbeats, the cluster jobs it may lead, and whether it takes new
 * sandboxes (its cordon and liveness, read from the store, so a cordon set through any daemon of
 * the cluster holds).
 */
final class ClusterMembership implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterMembership.class);
  /** A cluster job changes hands at most this long after its leader stopped renewing: "within seconds". */
  static final Duration LEASE = Duration.ofSeconds(10);
  /** Liveness is judged in seconds; checking every second keeps "down" within a second of its time. */
  private static final Duration LIVENESS_INTERVAL = Duration.ofSeconds(1);

  private final ClusterConfig config;
  private final String nodeId;
  private final NodeRegistry registry;
  private final LeaseRepository leases;
  private final Leadership leadership;
  private final NodeRole role;
  private final String name;
  /** What control instances present to this node; made anew at each start. */
  private final NodeCredential credential = NodeCredential.random();
  private volatile boolean started;

  ClusterMembership(Database db, Path dataDir, ClusterConfig config) throws IOException {
    this.role = config.role() == ClusterConfig.Role.NODE ? NodeRole.NODE : NodeRole.COMBINED;
    this.name = Optional.ofNullable(config.nodeName()).orElseGet(ClusterMembership::hostName);
    if (config.nodeDownAfterSeconds() < 2 * config.heartbeatSeconds()) {
      log.warn("cluster.nodeDownAfterSeconds ({}) is less than two of cluster.heartbeatSeconds ({}): one late heartbeat marks a node down",
          config.nodeDownAfterSeconds(), config.heartbeatSeconds());
    }
    this.config = config;
    this.nodeId = NodeIdentity.loadOrCreate(dataDir);
    this.registry = new NodeRegistry(new NodeRepository(db));
    this.leases = new LeaseRepository(db);
    this.leadership = new Leadership(leases, nodeId, LEASE);
  }

  LeaseRepository leases() {
    return leases;
  }

  /**
   * A combined daemon owns every sandbox in its database: its recovery adopts or fails them, its
   * collection and reaper act on them. A second one on the same database (a shared PostgreSQL)
   * would take the first one's sandboxes for leftovers of a crash, so it refuses to start while
   * another combined node of the database is up.
   */
  void refuseIfAnotherCombinedNodeIsUp(String databaseName) throws DaemonStartException {
    Instant fresh = Instant.now().minusSeconds(config.nodeDownAfterSeconds());
    for (Node n : registry.list()) {
      if (n.id().equals(nodeId) || n.role() != NodeRole.COMBINED || n.state() != NodeState.UP || n.heartbeatAt().isBefore(fresh)) continue;
      throw new DaemonStartException("the database " + databaseName + " is in use by node " + n.name() + " (" + n.id() + ", " + n.apiUrl()
          + "), a daemon that runs its sandboxes; two would take each other's sandboxes for leftovers of a crash. Stop that daemon, or give "
          + "this one a database of its own (the `database` config key). Several hosts in one cluster need node roles, which are not there yet");
    }
  }

  NodeRegistry registry() {
    return registry;
  }

  String nodeId() {
    return nodeId;
  }

  NodeRole role() {
    return role;
  }

  NodeCredential credential() {
    return credential;
  }

  /** This node, for its sandbox service: new sandboxes start here unless it is cordoned or marked down. */
  ThisNode thisNode() {
    return new ThisNode(nodeId, name, config.labels(), placement(), this::poolSharers);
  }

  /** One host keeps whole pools; a cluster's nodes that take sandboxes share each pool's sizes. */
  private int poolSharers() {
    if (role == NodeRole.COMBINED) return 1;
    return (int) Math.max(1, registry.list().stream().filter(Node::acceptsSandboxes).count());
  }

  private Placement placement() {
    return () -> registry.find(nodeId).filter(n -> !n.acceptsSandboxes())
        .map(n -> "this host's node " + n.name() + " (" + n.id() + ") is " + (n.cordoned() ? "cordoned (kiln node uncordon " + n.id() + ")"
            : "down: " + n.downReason().orElse("no heartbeat")));
  }

  /**
   * Registers the node (reachable at {@code apiPort}, and its port proxy at {@code proxyPort}, on the
   * advertised URL's host if one is configured, else on the listen host) and starts its heartbeats;
   * a combined daemon also runs the liveness job, which a cluster's control instances run otherwise.
   */
  void start(ScheduledExecutorService ticks, Supplier<NodeCapacity> capacity, String listenHost, int apiPort, Optional<Integer> proxyPort) {
    String url = Optional.ofNullable(config.advertiseUrl()).orElse("http://" + listenHost + ":" + apiPort);
    String host = java.net.URI.create(url).getHost();
    NodeHeartbeat heartbeat = new NodeHeartbeat(registry, nodeId, name, url, role, capacity, credential, proxyPort.map(p -> "http://" + host + ":" + p),
        config.labels());
    heartbeat.register();
    started = true;
    ticks.scheduleWithFixedDelay(() -> guarded("heartbeat", heartbeat::beat), config.heartbeatSeconds(), config.heartbeatSeconds(), TimeUnit.SECONDS);
    if (role == NodeRole.COMBINED) startLiveness(ticks, registry, leadership, config);
  }

  /** The job that marks silent nodes down, run by whichever daemon leads it. */
  static void startLiveness(ScheduledExecutorService ticks, NodeRegistry registry, Leadership leadership, ClusterConfig config) {
    NodeLiveness liveness = new NodeLiveness(registry, leadership, Duration.ofSeconds(config.nodeDownAfterSeconds()));
    ticks.scheduleWithFixedDelay(() -> guarded("node liveness", liveness::check), LIVENESS_INTERVAL.toMillis(), LIVENESS_INTERVAL.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  static void guarded(String what, Runnable job) {
    try {
      job.run();
    } catch (RuntimeException e) {
      log.error("{} pass failed", what, e);
    }
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }

  /** Gives up the cluster jobs this daemon leads, so another daemon takes them over at once. */
  @Override
  public void close() {
    leadership.close();
    if (started) {
      try {
        registry.stopped(nodeId);
      } catch (StoreException e) {
        log.warn("node={} not marked down on stop (it is once its heartbeats are missed): {}", nodeId, e.getMessage());
      }
    }
  }
}
