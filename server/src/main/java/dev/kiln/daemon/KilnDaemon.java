package dev.kiln.daemon;

import dev.kiln.access.ApiKeys;
import dev.kiln.api.ApiAudit;
import dev.kiln.api.ApiServer;
import dev.kiln.e2b.E2bApi;
import dev.kiln.e2b.EnvdTokens;
import dev.kiln.store.SecretRepository;
import dev.kiln.audit.AuditLog;
import dev.kiln.audit.AuditTrail;
import dev.kiln.store.AuditRepository;
import dev.kiln.api.NodeMigrationTargets;
import dev.kiln.cluster.NodeDirectory;
import dev.kiln.api.Callers;
import dev.kiln.api.RouteAccess;
import dev.kiln.cluster.NodeRole;
import dev.kiln.config.ClusterConfig;
import dev.kiln.store.SandboxRepository;
import dev.kiln.blob.ObjectStore;
import dev.kiln.cluster.NodeCapacity;
import dev.kiln.image.Template;
import dev.kiln.sandbox.SandboxState;
import dev.kiln.blob.ObjectStoreException;
import dev.kiln.blob.ObjectStores;
import dev.kiln.config.KilnConfig;
import dev.kiln.config.ObjectStoreConfig;
import dev.kiln.host.HostFacts;
import dev.kiln.image.Artifacts;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.image.TemplateService;
import dev.kiln.image.oci.BlobStore;
import dev.kiln.image.oci.DockerConfig;
import dev.kiln.image.oci.ImagePuller;
import dev.kiln.image.oci.RegistryClient;
import dev.kiln.config.NetworkConfig;
import dev.kiln.net.NetworkMode;
import dev.kiln.net.NetworkService;
import dev.kiln.net.proxy.PortProxy;
import dev.kiln.sandbox.SandboxLimits;
import dev.kiln.sandbox.SandboxNetworks;
import dev.kiln.store.NetworkRepository;
import java.net.InetAddress;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.ProcessService;
import dev.kiln.sandbox.SandboxOperations;
import dev.kiln.store.ApiKeyRepository;
import dev.kiln.store.Database;
import dev.kiln.store.TemplateRepository;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.QemuBackend;
import dev.kiln.vmm.VmmCapabilities;
import dev.kiln.vmm.VmmIdentities;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Kiln host: store, templates, sandboxes, reaper and HTTP API. {@link #start} re-adopts the VMs
 * a previous daemon left running; {@link #close} leaves them running for the next one, and takes
 * away what only served this daemon (listeners, the resolver, its host firewall rules, its claims).
 *
 * <p>A daemon claims its data directory ({@code <data-dir>/daemon.lock}) and, with networking, its
 * network prefix on the host ({@code /run/kiln/net-<prefix>.lock}) for as long as it runs: a second
 * daemon on either would take the first one's sandboxes, namespaces and VMs for leftovers of a
 * crash and remove them. It refuses to start instead ({@link DaemonStartException}).
 */
public final class KilnDaemon implements Daemon {
  private static final Logger log = LoggerFactory.getLogger(KilnDaemon.class);
  /** TTLs are in seconds; checking every second keeps expiry within a second of its time. */
  static final Duration REAP_INTERVAL = Duration.ofSeconds(1);

  private final KilnConfig config;
  private final Database db;
  /** Where template artifacts are shared, in a cluster. */
  private Optional<ObjectStore> objectStore = Optional.empty();
  private final TemplateService templates;
  private final SandboxManager sandboxes;
  private final SandboxOperations ops;
  private final ProcessService processes;
  private final ApiKeys keys;
  private final ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("reaper").daemon().factory());
  private final SandboxNetworks networks;
  private final VmmCapabilities capabilities;
  private final ClusterMembership cluster;
  private NodeMigrationTargets migrationTargets;
  private final SandboxLimits limits;
  private final Accelerator accelerator;
  /** The VMs' control groups, whose own group goes when the daemon stops with no VM left in it. */
  private final Optional<dev.kiln.vmm.VmCgroups> cgroups;
  /** This daemon's claims on its data directory and (with networking) its network prefix. */
  private final java.util.List<DaemonLock> claims = new java.util.ArrayList<>();
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
  private ApiServer api;
  private AuditTrail audit;
  private PortProxy proxy;
  private PortProxy e2bProxy;

  /** Where network prefix claims live: per host, not per data directory, and gone at reboot with the namespaces they guard. */
  static final Path RUN_DIR = Path.of("/run/kiln");

  /**
   * Opens the store and wires every part; networking (when wanted and possible) installs its host
   * table and sweeps namespaces of its prefix no stored sandbox holds.
   *
   * @throws DaemonStartException when another live daemon holds the data directory or the network prefix
   */
  public KilnDaemon(KilnConfig config, Optional<String> adminKey) throws Exception {
    if (config.cluster().role() == ClusterConfig.Role.CONTROL) throw new IllegalArgumentException("a control instance runs no VMs: start it as a ControlDaemon");
    this.config = config;
    Path data = config.dataDir().toAbsolutePath();
    Files.createDirectories(data);
    claim(data.resolve("daemon.lock"), data, h -> "the data directory " + data + " is in use by " + h.describe()
        + "; stop that daemon first, or give this one another data directory (--data-dir or the `dataDir` config key)");
    NetworkConfig nc = config.network();
    if (nc.wanted() && NetworkService.unavailableReason().isEmpty() && nc.prefix().matches("[a-z][a-z0-9]{0,4}")) {
      claim(RUN_DIR.resolve("net-" + nc.prefix() + ".lock"), data, h -> "the network prefix '" + nc.prefix() + "' is in use on this host by "
          + h.describe() + ": this daemon would remove that one's sandbox namespaces (" + nc.prefix() + "-<n>) as leftovers of a crash; "
          + "give this daemon a prefix of its own with the `network.prefix` config key (and an address pool that does not overlap, `network.addressPool`)");
    }
    try {
      db = StoreOpener.open(config.database(), data, config.cluster().role());
    } catch (Exception | Error e) {
      releaseClaims();
      throw e;
    }
    SandboxNetworks net = null;
    try {
      cluster = new ClusterMembership(db, data, config.cluster());
      if (cluster.role() == NodeRole.COMBINED) {
        cluster.refuseIfAnotherCombinedNodeIsUp(config.database().postgresql() ? config.database().url() : data.resolve("kiln.db").toString());
      }
      // Before the network sweep reads which slots are this node's: rows from before nodes are this host's.
      int claimed = new SandboxRepository(db).claimUnowned(cluster.nodeId());
      if (claimed > 0) log.info("node={} took {} sandboxes stored before nodes existed", cluster.nodeId(), claimed);
      objectStore = openObjectStore(config.objectStore());
      Artifacts templateArtifacts = objectStore.isPresent()
          ? new Artifacts(data, objectStore.get(), (long) config.objectStore().cacheGib() << 30)
          : new Artifacts(data);
      templates = new TemplateService(data, new TemplateRepository(db),
          new ImagePuller(new RegistryClient(java.util.Set.copyOf(config.insecureRegistries())), new BlobStore(data), DockerConfig.standard()),
          templateArtifacts);
      templates.failInterruptedBuilds();
      try {
        templates.snapshotPointers().takeOverFiles(); // what a daemon before the templates' snapshot columns left
      } catch (java.io.IOException e) {
        log.warn("{}", e.getMessage());
      }
      keys = new ApiKeys(new ApiKeyRepository(db), adminKey);
      audit = new AuditTrail(new AuditRepository(db), data, cluster.nodeId());
      GuestArtifacts artifacts = GuestArtifacts.load(config.guestArtifacts());
      Accelerator accel = Accelerator.resolve(config.accelerator(), Path.of("/sys/module"), Path.of("/dev/kvm"));
      accelerator = accel;
      OptionalLong tsc = accel == Accelerator.TCG ? HostFacts.tscKhz() : OptionalLong.empty();
      if (accel == Accelerator.TCG && tsc.isEmpty()) log.warn("host TSC rate unknown: TCG guests may hang calibrating their clock");
      Optional<VmmIdentities> vmmIds = vmmIdentities(config.vmm(), data, artifacts);
      limits = SandboxLimits.forHost(config.sandboxDefaults(), config.sandboxQuotas(), Runtime.getRuntime().availableProcessors(), HostFacts.memoryTotalBytes());
      net = networks(config.network(), vmmIds.isPresent() ? config.vmm().group() : "", db, cluster.nodeId(), new dev.kiln.audit.GuestDenials(audit));
      networks = net;
      dev.kiln.vmm.DiskParents.adoptLegacy(data); // before any VM is launched or adopted
      cgroups = vmCgroups(vmmIds.isPresent(), data);
      QemuBackend backend = new QemuBackend(config.qemuBinary(), vmmIds, cgroups, tsc);
      capabilities = backend.capabilities(accel);
      sandboxes = new SandboxManager(data, db, templates, backend, artifacts,
          accel, Duration.ofSeconds(config.bootTimeoutSeconds()), limits, networks, Duration.ofSeconds(config.tombstoneRetentionSeconds()),
          cluster.thisNode(), objectStore);
      ops = new SandboxOperations(sandboxes);
      processes = new ProcessService(sandboxes, ops, config.processScrollbackBytes());
      processes.onExit(new dev.kiln.audit.ProcessExitRecords(audit));
      if (config.templateSnapshots()) templates.snapshotWith(sandboxes::snapshotInBackground);
      dev.kiln.build.DockerfileBuilds dockerfiles = new dev.kiln.build.DockerfileBuilds(data, templates, sandboxes.buildVms(),
          new dev.kiln.store.BuildCacheRepository(db), cluster.nodeId(), config.builds());
      dockerfiles.removeInterrupted();
      templates.buildDockerfilesWith(dockerfiles);
      log.info("kiln daemon data_dir={} guest_artifacts={} accelerator={} tsc_khz={}", data, artifacts.id(), accel,
          tsc.isPresent() ? tsc.getAsLong() : "n/a");
    } catch (Exception | Error e) {
      // Nothing of a daemon that did not start may outlive it: another attempt in this process
      // (a test, a supervisor) must find the claims free and the host as it was.
      if (net != null) net.close();
      if (audit != null) audit.close();
      objectStore.ifPresent(ObjectStore::close);
      db.close();
      releaseClaims();
      throw e;
    }
  }

  /**
   * The bucket template artifacts are shared through, if one is configured. One that is missing,
   * refuses the credentials or cannot be reached stops the start with one line naming it, rather
   * than the first template that needs it.
   */
  private static Optional<ObjectStore> openObjectStore(ObjectStoreConfig c) throws DaemonStartException {
    if (!c.enabled()) return Optional.empty();
    ObjectStore store = null;
    try {
      store = ObjectStores.open(c);
      store.check();
      log.info("object store {} is reachable; template artifacts are shared through it", store.describe());
      return Optional.of(store);
    } catch (ObjectStoreException e) {
      if (store != null) store.close();
      throw new DaemonStartException(e.getMessage() + " (the `objectStore` config key)", e);
    }
  }

  private void claim(Path file, Path data, java.util.function.Function<DaemonLock.Holder, String> taken) throws Exception {
    try {
      claims.add(DaemonLock.acquire(file, data));
    } catch (DaemonLock.Taken t) {
      releaseClaims();
      throw new DaemonStartException(taken.apply(t.holder));
    } catch (java.io.IOException | RuntimeException e) {
      releaseClaims();
      throw new DaemonStartException("cannot lock " + file + " (" + e.getMessage() + "): the daemon locks it so that no other daemon shares it", e);
    }
  }

  private void releaseClaims() {
    for (DaemonLock c : claims) {
      try {
        c.close();
      } catch (java.io.IOException e) {
        log.warn("releasing a daemon lock failed: {}", e.getMessage());
      }
    }
    claims.clear();
  }

  /**
   * Networking when configured and possible; otherwise every sandbox is mode none and a request for
   * more is answered with the reason. Namespaces no stored sandbox holds (a crash's) are removed.
   */
  /**
   * The uids VMs run as, with what a previous daemon handed out taken back; empty (QEMU as the
   * daemon's user) when the config says so or the daemon is not root, with a warning.
   */
  private static Optional<VmmIdentities> vmmIdentities(dev.kiln.config.VmmConfig c, Path data, GuestArtifacts artifacts)
      throws java.io.IOException, DaemonStartException {
    if (c.disabled() || !"root".equals(System.getProperty("user.name"))) {
      log.warn("qemu runs as the daemon's user ({}): every VM can reach every other VM's files; for least privilege run the daemon as root with vmm.uids set",
          c.disabled() ? "vmm.uids is \"\"" : "the daemon is not root");
      return Optional.empty();
    }
    java.util.OptionalInt group = QemuBackend.groupIfPresent(c.group());
    if (group.isEmpty()) {
      throw new DaemonStartException("the VMM group '" + c.group() + "' does not exist: run scripts/install.sh (or groupadd --system " + c.group()
          + "), or set vmm.uids to \"\" to run QEMU as the daemon's user (development only)");
    }
    VmmIdentities ids = VmmIdentities.parse(c.uids(), group);
    ids.recover(List.of(data.resolve("sandboxes")), Path.of("/proc"));
    DataDirAccess.ensureTraversable(data);
    DataDirAccess.ensureTraversable(artifacts.kernel().getParent());
    log.info("vms run as uids {} (one each) in group {} ({}); taken now: {}", c.uids(), c.group(), group.getAsInt(), ids.taken());
    return Optional.of(ids);
  }

  /**
   * A control group per VM, under one of this data directory's (so daemons sharing a host keep
   * theirs apart); what VMs that ended while no daemon ran left is removed now, before any VM starts.
   */
  private static Optional<dev.kiln.vmm.VmCgroups> vmCgroups(boolean root, Path data) {
    if (!root) return Optional.empty(); // QEMU as the daemon's own user: a development setup
    String scope = dev.kiln.vmm.VmCgroups.scopeOf(data);
    Optional<dev.kiln.vmm.VmCgroups> c = dev.kiln.vmm.Cgroups.detect(Path.of("/sys/fs/cgroup"), scope, data).map(dev.kiln.vmm.VmCgroups::new);
    c.ifPresent(g -> {
      g.sweep();
      log.info("vms run in control groups kiln-{} (cgroup v{}): cpu quota = vcpus + 1 (QEMU's own threads), memory = RAM + overhead, pids, block I/O", scope, g.version());
    });
    return c;
  }

  private static SandboxNetworks networks(NetworkConfig c, String tapOwner, Database db, String nodeId, dev.kiln.net.EgressDenials denials)
      throws java.io.IOException, DaemonStartException {
    NetworkRepository rows = new NetworkRepository(db);
    InetAddress bind = InetAddress.getByName(c.forwardBind());
    NetworkMode mode = NetworkMode.valueOf(c.defaultMode().toUpperCase(java.util.Locale.ROOT));
    if (!c.wanted()) return new SandboxNetworks(rows, nodeId, Optional.empty(), "networking is disabled in the config (network.enabled=false)", mode, bind);
    Optional<String> why = NetworkService.unavailableReason();
    if (why.isPresent()) {
      log.warn("sandbox networking unavailable: {}; sandboxes get mode none", why.get());
      return new SandboxNetworks(rows, nodeId, Optional.empty(), why.get(), mode, bind);
    }
    NetworkService service;
    try {
      service = NetworkService.start(c, tapOwner, SandboxNetworks.storedSlots(rows, nodeId), denials);
    } catch (java.io.IOException e) {
      Optional<String> busy = ListenFailure.of("0.0.0.0:" + c.dnsPort() + " (the sandboxes' DNS resolver)", e, "the `network.dnsPort` config key");
      if (busy.isPresent()) throw new DaemonStartException(busy.get(), e);
      throw e;
    }
    return new SandboxNetworks(rows, nodeId, Optional.of(service), "", mode, bind);
  }

  /** Re-adopts surviving VMs, starts the reaper and the API. */
  public void start() throws Exception {
    sandboxes.recover();
    // Templates built offline (the installer's `base`) or before snapshots existed get theirs now.
    if (config.templateSnapshots()) sandboxes.snapshotTemplatesWithout();
    sandboxes.pools().start();
    boolean node = cluster.role() == NodeRole.NODE;
    if (!node) DevKey.announce(config, keys);
    // A node's sandboxes expire by the TTL reaper of the cluster's leading control instance; it only forgets old tombstones.
    Runnable reap = node ? () -> sandboxes.purgeTombstones(Instant.now()) : () -> sandboxes.reapExpiredInBackground(Instant.now());
    reaper.scheduleWithFixedDelay(() -> ClusterMembership.guarded("reaper", reap), REAP_INTERVAL.toMillis(), REAP_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    long sampleMs = SandboxManager.USAGE_SAMPLE_EVERY.toMillis();
    reaper.scheduleWithFixedDelay(() -> ClusterMembership.guarded("usage samples", sandboxes::sampleUsage), sampleMs, sampleMs, TimeUnit.MILLISECONDS);
    reaper.scheduleWithFixedDelay(() -> ClusterMembership.guarded("process reaper", processes::reapUnattended), REAP_INTERVAL.toMillis(),
        REAP_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    if (node) {
      // A pool configured through another node, or nodes joining and leaving, change this node's share.
      long every = config.cluster().heartbeatSeconds();
      reaper.scheduleWithFixedDelay(() -> ClusterMembership.guarded("warm pool sync", sandboxes.pools()::sync), every, every, TimeUnit.SECONDS);
      // Live migration (docs/adr/0019): this node reaches the others as the control plane does.
      migrationTargets = new NodeMigrationTargets(new NodeDirectory(cluster.registry(), new SandboxRepository(db)));
      sandboxes.migrateThrough(migrationTargets);
      reaper.scheduleWithFixedDelay(() -> ClusterMembership.guarded("migration arrivals", sandboxes::reapSilentArrivals), REAP_INTERVAL.toMillis(),
          REAP_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }
    String[] hp = config.listen().split(":");
    Callers callers = node ? Callers.controlPlane(cluster.credential()) : Callers.users(keys);
    // E2B's API (docs/e2b.md) on every daemon that runs sandboxes: a node's is reached through a control instance.
    E2bApi e2b = E2bApi.local(sandboxes, ops, processes, templates, callers, EnvdTokens.inStore(new SecretRepository(db)),
        Optional.ofNullable(config.e2b().domain()), new ApiAudit(audit));
    api = new ApiServer(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), sandboxes, ops, processes, templates, capabilities, cluster.registry(),
        cluster.leases(), callers, new RouteAccess(new SandboxRepository(db), new TemplateRepository(db)), keys, new AuditLog(new AuditRepository(db), audit),
        new ApiAudit(audit), Optional.of(e2b));
    Listening.startApi(api, config.listen());
    log.info("kiln api listening on http://{}:{}", hp[0], api.port());
    if (networks.available()) {
      String domain = config.network().proxyDomain();
      proxy = Listening.startProxy(config.network().proxyListen(), at -> node
          ? PortProxy.startForControlPlane(at, domain, networks::proxyTarget, cluster.credential().value())
          : PortProxy.start(at, domain, networks::proxyTarget));
      log.info("kiln port proxy listening on http://{}:{} (hosts <port>-<sandbox>.{}, paths /v1/sandboxes/<id>/ports/<port>/)",
          proxy.address().getHostString(), proxy.address().getPort(), domain);
    }
    if (!node && config.e2b().hostNames()) {
      e2bProxy = Listening.startE2bHostNames(config.e2b(), hp[0], api.port(), networks.available() ? networks::proxyTarget : (id, port) -> Optional.empty());
    }
    cluster.start(reaper, this::capacity, hp[0], api.port(), proxyAddress().map(InetSocketAddress::getPort));
  }

  /** What this host reports in its node's heartbeats. */
  private NodeCapacity capacity() {
    long diskFree;
    try {
      diskFree = Files.getFileStore(config.dataDir()).getUsableSpace() >> 20;
    } catch (java.io.IOException e) {
      diskFree = 0;
    }
    int running = (int) sandboxes.list().stream().filter(s -> s.state() == SandboxState.RUNNING && s.node().equals(cluster.nodeId())).count();
    // Templates whose image is on this node's disk: what placement prefers a node for (the rows are the cluster's).
    List<String> cached = templates.list().stream().filter(Template::built)
        .filter(t -> t.rootfs().map(p -> Files.exists(templates.artifacts().local(p))).orElse(false)).map(Template::name).toList();
    return new NodeCapacity(limits.maxVcpus(), limits.maxMemoryMib(), diskFree, running, cached, accelerator.name().toLowerCase(java.util.Locale.ROOT));
  }

  /** Where the port proxy listens (for tests and the CLI); empty without networking. */
  public Optional<InetSocketAddress> proxyAddress() {
    return Optional.ofNullable(proxy).map(PortProxy::address);
  }

  public int port() {
    return api.port();
  }

  public SandboxManager sandboxes() {
    return sandboxes;
  }

  public SandboxOperations operations() {
    return ops;
  }

  public TemplateService templates() {
    return templates;
  }

  /** This daemon's side of the audit trail. */
  public AuditTrail audit() {
    return audit;
  }

  public ApiKeys keys() {
    return keys;
  }

  /**
   * Stops serving: the API, the proxy, forwards and the resolver stop listening, the host table
   * goes (or, while sandbox networks outlive the daemon, keeps only what guards them), the claims
   * are released. Sandboxes keep running and are re-adopted at the next start. Idempotent.
   */
  @Override
  public void close() throws Exception {
    if (!closed.compareAndSet(false, true)) return;
    reaper.shutdownNow();
    try {
      cluster.close();
      if (api != null) api.close();
      if (migrationTargets != null) migrationTargets.close();
      if (proxy != null) proxy.close();
      if (e2bProxy != null) e2bProxy.close();
      sandboxes.close();
      cgroups.ifPresent(dev.kiln.vmm.VmCgroups::leave);
      networks.close();
      audit.close(); // after the API: its last requests' entries are written
      objectStore.ifPresent(ObjectStore::close);
      db.close();
    } finally {
      releaseClaims();
    }
    log.info("kiln daemon stopped; running sandboxes keep running and are re-adopted at next start");
  }
}
