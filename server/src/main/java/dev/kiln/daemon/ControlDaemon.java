package dev.kiln.daemon;

import dev.kiln.access.ApiKeys;
import dev.kiln.api.ApiAudit;
import dev.kiln.api.ApiServer;
import dev.kiln.api.Callers;
import dev.kiln.e2b.E2bApi;
import dev.kiln.audit.AuditLog;
import dev.kiln.audit.AuditTrail;
import dev.kiln.store.AuditRepository;
import dev.kiln.api.RouteAccess;
import dev.kiln.cluster.ClusterTtl;
import dev.kiln.cluster.Leadership;
import dev.kiln.cluster.NodeDirectory;
import dev.kiln.cluster.NodeRegistry;
import dev.kiln.cluster.NodeRoute;
import dev.kiln.config.ClusterConfig;
import dev.kiln.config.KilnConfig;
import dev.kiln.error.KilnException;
import dev.kiln.net.proxy.PortProxy;
import dev.kiln.net.proxy.ProxyTarget;
import dev.kiln.store.ApiKeyRepository;
import dev.kiln.store.Database;
import dev.kiln.store.LeaseRepository;
import dev.kiln.store.NodeRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.TemplateRepository;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A control instance (docs/adr/0017): the public API and the port proxy, carried to the nodes that
 * run the sandboxes, and the cluster's jobs (node liveness, TTLs) while it leads them. It keeps no
 * state of its own: any number run side by side on one PostgreSQL, and one that dies is replaced
 * by starting another.
 */
public final class ControlDaemon implements Daemon {
  private static final Logger log = LoggerFactory.getLogger(ControlDaemon.class);

  private final KilnConfig config;
  private final Database db;
  /** This instance among the lease holders; new at each start, since nothing of it outlives the process. */
  private final String instanceId = "control-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()).substring(0, 12);
  private final NodeRegistry nodes;
  private final LeaseRepository leases;
  private final Leadership leadership;
  private final NodeDirectory directory;
  private final ApiKeys keys;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5))
      .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
  private final ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("control-jobs").daemon().factory());
  private final AtomicBoolean closed = new AtomicBoolean();
  private ApiServer api;
  private final AuditTrail audit;
  private PortProxy proxy;
  /** E2B's host names over HTTPS, with {@code e2b.domain}. */
  private PortProxy e2bProxy;

  public ControlDaemon(KilnConfig config, Optional<String> adminKey) throws Exception {
    if (config.cluster().role() != ClusterConfig.Role.CONTROL) throw new IllegalArgumentException("not a control instance's config");
    this.config = config;
    Files.createDirectories(config.dataDir());
    db = StoreOpener.open(config.database(), config.dataDir(), config.cluster().role());
    nodes = new NodeRegistry(new NodeRepository(db));
    leases = new LeaseRepository(db);
    leadership = new Leadership(leases, instanceId, ClusterMembership.LEASE);
    directory = new NodeDirectory(nodes, new SandboxRepository(db));
    keys = new ApiKeys(new ApiKeyRepository(db), adminKey);
    audit = new AuditTrail(new AuditRepository(db), config.dataDir(), instanceId);
  }

  public void start() throws Exception {
    DevKey.announce(config, keys);
    String[] hp = config.listen().split(":");
    api = ApiServer.forControl(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), directory, nodes, leases, keys,
        new RouteAccess(new SandboxRepository(db), new TemplateRepository(db)), new AuditLog(new AuditRepository(db), audit), new ApiAudit(audit),
        hop -> E2bApi.relay(directory, hop, Callers.users(keys), new ApiAudit(audit)));
    Listening.startApi(api, config.listen());
    proxy = Listening.startProxy(config.network().proxyListen(), at -> PortProxy.start(at, config.network().proxyDomain(), this::relay));
    if (config.e2b().hostNames()) e2bProxy = Listening.startE2bHostNames(config.e2b(), hp[0], api.port(), this::relay);
    ClusterMembership.startLiveness(ticks, nodes, leadership, config.cluster());
    ClusterTtl ttl = new ClusterTtl(new SandboxRepository(db), nodes, leadership, http);
    ticks.scheduleWithFixedDelay(() -> ClusterMembership.guarded("cluster ttl", ttl::pass), KilnDaemon.REAP_INTERVAL.toMillis(),
        KilnDaemon.REAP_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    log.info("kiln control instance={} api on http://{}:{} port proxy on {}", instanceId, hp[0], api.port(), proxy.address());
  }

  /** The port proxy's target: the node that runs the sandbox, whose own proxy checks the token. */
  private Optional<ProxyTarget> relay(String sandboxId, int port) {
    NodeRoute node;
    try {
      node = directory.forSandbox(sandboxId, false);
    } catch (KilnException e) {
      return Optional.empty();
    }
    return node.proxy().map(u -> ProxyTarget.relay(new InetSocketAddress(u.getHost(), u.getPort()), node.credential().value()));
  }

  public int port() {
    return api.port();
  }

  public InetSocketAddress proxyAddress() {
    return proxy.address();
  }

  public String instanceId() {
    return instanceId;
  }

  public ApiKeys keys() {
    return keys;
  }

  /** Gives up the jobs it leads (another instance takes them at once) and stops listening. Idempotent. */
  @Override
  public void close() throws Exception {
    if (!closed.compareAndSet(false, true)) return;
    ticks.shutdownNow();
    leadership.close();
    if (api != null) api.close();
    if (proxy != null) proxy.close();
    if (e2bProxy != null) e2bProxy.close();
    http.close();
    audit.close();
    db.close();
    log.info("kiln control instance={} stopped", instanceId);
  }
}
