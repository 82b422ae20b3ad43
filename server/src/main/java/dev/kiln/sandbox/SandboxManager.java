package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.host.VerifiedFiles;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateService;
import dev.kiln.image.oci.ImageConfig;
import dev.kiln.net.EgressPolicy;
import dev.kiln.store.CheckpointRepository;
import dev.kiln.store.Database;
import dev.kiln.store.EventRepository;
import dev.kiln.store.NodeRepository;
import dev.kiln.store.PoolRepository;
import dev.kiln.blob.ObjectStore;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.TombstoneRepository;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.VmmBackend;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * The sandbox service as the API and the daemon see it: it assembles the classes that each do one
 * job (creation, lifecycle transitions, removal and TTLs, recovery, views, template snapshots,
 * checkpoints, warm pools) and hands each call to the one that does it. Transitions of one sandbox
 * are serialized by its lock ({@link SandboxRegistry}) and checked by {@link Transitions}; exec and
 * file calls only read the live agent and never hold that lock, so a long command does not block a
 * delete.
 */
public final class SandboxManager implements AutoCloseable {
  private final SandboxRegistry live;
  private final SandboxRows rows;
  private final Seams seam = new Seams();
  private final SandboxListeners listeners = new SandboxListeners();
  private final SandboxMetrics metrics;
  private final UsageHistory usageHistory;
  private final SandboxViews views;
  private final SandboxCreator creator;
  private final SandboxLifecycle lifecycle;
  private final SandboxRemoval removal;
  private final SandboxRecovery recovery;
  private final TemplateSnapshotPolicy snapshotPolicy;
  private final Checkpoints checkpoints;
  private final Forks forks;
  private final WarmPools pools;
  private final SandboxNetworks networks;
  private final ThisNode node;
  private final Relocation relocation;
  private final LiveMigrations migrations;
  private final IncomingMigrations arrivals;
  private final NodeDrain drain;
  private final BuildVms buildVms;

  public SandboxManager(Path dataDir, Database db, TemplateService templates, VmmBackend backend, GuestArtifacts artifacts,
      Accelerator accelerator, Duration bootTimeout, SandboxLimits limits, SandboxNetworks networks, Duration tombstoneRetention, ThisNode node, Optional<ObjectStore> bucket) {
    this(dataDir, db, templates, backend, artifacts, accelerator, bootTimeout, limits, networks, tombstoneRetention, node, bucket, new SandboxRegistry());
  }

  SandboxManager(Path dataDir, Database db, TemplateService templates, VmmBackend backend, GuestArtifacts artifacts, Accelerator accelerator,
      Duration bootTimeout, SandboxLimits limits, SandboxNetworks networks, Duration tombstoneRetention, ThisNode node, Optional<ObjectStore> bucket, SandboxRegistry registry) {
    this.live = registry;
    this.node = node;
    this.networks = networks;
    RunDirs dirs = new RunDirs(dataDir.resolve("sandboxes"));
    SandboxRepository repo = new SandboxRepository(db);
    EventRepository events = new EventRepository(db);
    CheckpointRepository checkpointRows = new CheckpointRepository(db);
    Tombstones tombstones = new Tombstones(new TombstoneRepository(db), repo, tombstoneRetention);
    this.rows = new SandboxRows(repo, tombstones, node.id());
    DiskLayers disks = new DiskLayers(dataDir.resolve("disks"));
    UnusedDisks unused = new UnusedDisks(disks, rows, checkpointRows, templates, new dev.kiln.store.BuildCacheRepository(db));
    SandboxTeardown teardown = new SandboxTeardown(dirs);
    SandboxLocks locks = new SandboxLocks(live, rows, seam);
    Watchdog watchdog = new Watchdog(repo, rows, teardown, unused, seam);
    // States this daemon saves are hashed as they are written; a load of one unchanged since is not read twice.
    VerifiedFiles savedStates = new VerifiedFiles();
    VmLauncher launcher = new VmLauncher(dirs, repo, rows, events, live, disks, unused, backend, networks, watchdog, teardown, listeners, seam, bootTimeout,
        savedStates);
    TemplateSnapshots snapshots = new TemplateSnapshots(dirs.root(), templates.artifacts(), templates.snapshotPointers(), backend, artifacts, accelerator,
        bootTimeout);
    SnapshotClones clones = new SnapshotClones(snapshots, disks, backend, bootTimeout);
    this.buildVms = new BuildVms(dirs, disks, templates.artifacts(), backend, networks, snapshots, artifacts, bootTimeout, unused);
    this.pools = new WarmPools(new PoolRepository(db), templates, snapshots, clones, disks, dirs.root(), limits, node.poolSharers());
    templates.onDeleted(pools::remove);
    templates.onDeleted(name -> unused.collect()); // its image and snapshots, unless something is still built on them
    this.views = new SandboxViews(repo, rows, events, networks, templates, dirs, registry);
    BucketStates states = new BucketStates(bucket, disks, snapshots, events);
    CheckpointFiles checkpointFiles = new CheckpointFiles(dataDir.resolve("checkpoints"));
    DiskQuota quota = new DiskQuota(limits.quotas(), checkpointRows, checkpointFiles, dirs);
    this.metrics = new SandboxMetrics(repo, rows, registry, networks, quota);
    this.usageHistory = new UsageHistory(metrics::all);
    this.lifecycle = new SandboxLifecycle(locks, rows, live, launcher, watchdog, teardown, listeners, repo, networks, limits, dirs, events, states, quota,
        savedStates);
    this.removal = new SandboxRemoval(locks, rows, repo, live, teardown, checkpointFiles, networks, tombstones, unused, listeners, lifecycle, seam);
    this.snapshotPolicy = new TemplateSnapshotPolicy(templates, snapshots, pools, networks, limits, unused);
    this.creator = new SandboxCreator(templates, limits, networks, pools, snapshotPolicy, snapshots, clones, launcher, locks, removal, events, disks,
        artifacts, backend.capabilities(accelerator), node, quota);
    this.recovery = new SandboxRecovery(dirs, repo, rows, live, backend, networks, watchdog, removal, unused, listeners, launcher, events);
    StateCapture capture = new StateCapture(repo, disks, seam, savedStates);
    DiskFlattening flattening = new DiskFlattening(locks, quota, events, unused, limits.quotas().diskLayers());
    this.checkpoints = new Checkpoints(locks, rows, capture, launcher, watchdog, teardown, checkpointRows, unused, checkpointFiles, views, states, quota,
        flattening);
    this.forks = new Forks(locks, rows, capture, checkpoints, launcher, removal, views, networks, limits, events, checkpointFiles, disks);
    NodeRepository nodes = new NodeRepository(db);
    this.relocation = new Relocation(repo, rows, nodes, states, dirs, networks, live, checkpointRows, forks);
    this.migrations = new LiveMigrations(locks, repo, rows, live, networks, listeners, states, checkpointRows, checkpointFiles, dirs, unused, watchdog, events);
    this.arrivals = new IncomingMigrations(repo, rows, live, networks, listeners, states, disks, dirs, backend, watchdog, events, nodes);
    this.drain = new NodeDrain(rows, repo, locks, networks, migrations, states, dirs, unused, nodes);
  }

  // ---- live migration (docs/adr/0019)

  /** Where sandboxes of this node can move: the cluster's other nodes. Until set (a single host), nowhere. */
  public void migrateThrough(MigrationTargets targets) {
    migrations.useTargets(targets);
    drain.useTargets(targets);
  }

  /** Empties this node (cordoned by the control plane first) in the background; returns its first progress. */
  public DrainProgress drain(int parallel, dev.kiln.vmm.MigrationSettings settings) {
    return drain.start(parallel, settings);
  }

  /**
   * Moves a running sandbox to another node, live; returns once it runs there. A network group
   * lives on one node (its members reach each other over that node's bridge), so the group's other
   * running members here follow it to the same node, one after another (docs/adr/0019).
   */
  public MigrationResult migrate(String id, Optional<String> node, dev.kiln.vmm.MigrationSettings settings) throws InterruptedException {
    return migrations.migrateWithGroup(id, node, settings);
  }

  /** The migration of this sandbox under way here, if any. */
  public Optional<MigrationProgress> migration(String id) {
    return migrations.progress(id);
  }

  public void arrivalPrepare(MigrationOffer offer) throws InterruptedException {
    arrivals.prepare(offer);
  }

  public void arrivalProcesses(String migrationId, List<MovedProcess> processes) {
    arrivals.processes(migrationId, processes);
  }

  public void arrivalMemory(String migrationId, java.io.InputStream stream) throws InterruptedException {
    arrivals.memory(migrationId, stream);
  }

  public void arrivalDisk(String migrationId, java.io.InputStream stream) throws InterruptedException {
    arrivals.disk(migrationId, stream);
  }

  public void arrivalCommit(String migrationId) throws InterruptedException {
    arrivals.commit(migrationId);
  }

  public void arrivalAbort(String migrationId) {
    arrivals.abort(migrationId);
  }

  /** The reaper's tick: arrivals whose source fell silent are dropped (or completed, if they have everything). */
  public void reapSilentArrivals() {
    arrivals.reapSilent();
  }

  /** The sandbox's row as stored, for tests that look under the API (the pid of its VM). */
  dev.kiln.store.SandboxRow rowOf(String id) {
    return rows.row(id);
  }

  /** For tests: the seam lifecycle code calls at its named points. */
  void installSeam(LifecycleSeam s) {
    seam.install(s);
  }

  // ---- template snapshots

  public TemplateSnapshots.Manifest snapshot(String templateName) throws InterruptedException {
    return snapshotPolicy.snapshot(templateName);
  }

  public void snapshotInBackground(Template t) {
    snapshotPolicy.snapshotInBackground(t);
  }

  public void snapshotTemplatesWithout() {
    snapshotPolicy.snapshotTemplatesWithout();
  }

  public Optional<TemplateSnapshots.Manifest> snapshotOf(Template t) {
    return snapshotPolicy.snapshotOf(t);
  }

  // ---- sandboxes

  /**
   * Takes over a paused sandbox whose node is down, from its state in the object store; the
   * control plane resumes it here next (docs/adr/0017).
   */
  public Sandbox adoptPaused(String id) throws InterruptedException {
    relocation.adoptPaused(id);
    return views.get(id);
  }

  /** Forks another node's checkpoint here, from the object store, for the key {@code owner}. */
  public List<Sandbox> forkCheckpointHere(String sourceId, String checkpoint, int count, String owner) throws InterruptedException {
    return relocation.forkCheckpoint(sourceId, checkpoint, count, owner);
  }

  /** The node this service runs sandboxes on. */
  public ThisNode thisNode() {
    return node;
  }

  public Sandbox create(CreateSandbox req) throws InterruptedException {
    return views.get(creator.create(req));
  }

  public Sandbox get(String id) {
    return views.get(id);
  }

  public List<Sandbox> list() {
    return views.list();
  }

  public void delete(String id) {
    removal.delete(id);
  }

  public Sandbox pause(String id) throws InterruptedException {
    lifecycle.pause(id);
    return views.get(id);
  }

  public Sandbox resume(String id) throws InterruptedException {
    lifecycle.resume(id);
    return views.get(id);
  }

  public Sandbox stop(String id) throws InterruptedException {
    lifecycle.stop(id);
    return views.get(id);
  }

  public Sandbox start(String id) throws InterruptedException {
    lifecycle.start(id);
    return views.get(id);
  }

  /** Hot-plugs CPUs or memory into a running q35 sandbox. */
  public Sandbox resize(String id, java.util.OptionalInt vcpus, OptionalLong memoryMib) throws InterruptedException {
    lifecycle.resize(id, vcpus, memoryMib);
    return views.get(id);
  }

  /** Sets a new TTL counted from now; 0 removes the limit. */
  public Sandbox setTimeout(String id, long timeoutSeconds) throws InterruptedException {
    lifecycle.setTimeout(id, timeoutSeconds);
    return views.get(id);
  }

  /** Expires due sandboxes and returns once they are done (tests and tools). */
  public void reapExpired(Instant now) throws InterruptedException {
    removal.reapExpired(now);
  }

  /** One reaper pass: each expiry runs on its own virtual thread, and this returns at once. */
  public void reapExpiredInBackground(Instant now) {
    removal.reapExpiredInBackground(now);
  }

  /**
   * Expires one sandbox now if its TTL has passed (deleted, or paused by its onTimeout): what a
   * cluster's leading control instance asks of the node that runs it.
   */
  public void expireIfDue(String id) throws InterruptedException {
    rows.row(id);
    removal.expire(id, Instant.now());
  }

  /** Forgets deleted sandboxes whose tombstone retention is over (a node's reaper, whose TTLs the control plane enforces). */
  public void purgeTombstones(Instant now) {
    removal.purgeTombstones(now);
  }

  /** Re-adopts the VMs a previous daemon left running, and cleans up after it. */
  public void recover() {
    recovery.recover();
  }

  /** Stops every VM and removes every sandbox: for tests and benchmarks that own the data dir. */
  public void deleteAll() {
    removal.deleteAll();
  }

  /** The live agent of a running sandbox (a paused one is resumed), or the 409 that says why there is none. */
  AgentConnection agent(String id) throws InterruptedException {
    return lifecycle.agent(id);
  }

  /** The answer for a data-plane call whose agent channel closed under it ({@link SandboxLifecycle#cutOff}). */
  dev.kiln.error.KilnException cutOff(String id, String what, AgentConnection used, dev.kiln.agent.AgentException e) throws InterruptedException {
    return lifecycle.cutOff(id, what, used, e);
  }

  Map<String, String> env(String id) {
    return views.env(id);
  }

  public ImageConfig imageConfig(String id) {
    return views.imageConfig(id);
  }

  public List<EventRepository.Event> events(String id) {
    return views.events(id);
  }

  /** Every sandbox's events after {@code seq}, oldest first (at most {@code limit}): what a live feed has not sent. */
  public List<EventRepository.Event> eventsAfter(long seq, int limit) {
    return views.eventsAfter(seq, limit);
  }

  /** The newest event's sequence number (0 with none). */
  public long lastEventSeq() {
    return views.lastEventSeq();
  }

  public byte[] console(String id, int maxBytes) {
    return views.console(id, maxBytes);
  }

  /** What the sandbox uses on this host now: CPU, memory, disk, network. */
  public SandboxUsage usage(String id) {
    return metrics.of(id);
  }

  /** The last hour of a sandbox's usage here, oldest first, one sample every {@link #USAGE_SAMPLE_EVERY}. */
  public List<SandboxUsage> usageHistory(String id) {
    rows.row(id);
    return usageHistory.of(id);
  }

  /** How often {@link #sampleUsage} should run. */
  public static final java.time.Duration USAGE_SAMPLE_EVERY = UsageHistory.EVERY;

  /** Takes one usage sample of every sandbox running here (the daemon's scheduler calls it). */
  public void sampleUsage() {
    usageHistory.sample();
  }

  /** CPU time and memory of a sandbox's VM running on this node (its control group only: cheap enough to read each second); empty otherwise. */
  public Optional<dev.kiln.vmm.Cgroups.Usage> vmUsage(String id) {
    return metrics.vmUsage(id);
  }

  /** The usage of every sandbox this node holds, for /metrics. */
  public List<SandboxUsage> usages() {
    return metrics.all();
  }

  // ---- network

  public SandboxNetworks networks() {
    return networks;
  }

  public Sandbox updateNetwork(String id, EgressPolicy egress, int egressMbit, int ingressMbit) throws InterruptedException {
    lifecycle.updateNetwork(id, egress, egressMbit, ingressMbit);
    return views.get(id);
  }

  public SandboxNetworks.Forward addForward(String id, int guestPort, int hostPort) throws InterruptedException {
    return lifecycle.addForward(id, guestPort, hostPort);
  }

  public List<SandboxNetworks.Forward> forwards(String id) {
    return lifecycle.forwards(id);
  }

  public void removeForward(String id, int hostPort) throws InterruptedException {
    lifecycle.removeForward(id, hostPort);
  }

  // ---- checkpoints, forks, pools

  /** The VMs Dockerfile builds run their steps in. */
  public BuildVms buildVms() {
    return buildVms;
  }

  public Checkpoints checkpoints() {
    return checkpoints;
  }

  public Forks forks() {
    return forks;
  }

  public WarmPools pools() {
    return pools;
  }

  /** Told when a sandbox's agent session is about to be closed for a pause, and when a session is opened (new or resumed). */
  public interface AgentListener {
    void detaching(String sandboxId);

    /** {@code agent.resumedExecs()} holds the commands a resumed session kept; a new session kept none. */
    void attached(String sandboxId, AgentConnection agent);
  }

  /**
   * Carries a sandbox's background processes along a live migration: they live in the processes
   * API's service, above this one. {@link #leaving} is called once the guest holds their output and
   * the session is closed; {@link #arrived} on the new node before its session with the guest opens.
   */
  public interface ProcessCarrier {
    List<MovedProcess> leaving(String sandboxId) throws InterruptedException;

    void left(String sandboxId);

    void arrived(String sandboxId, List<MovedProcess> processes);

    /** No processes API on this daemon (a test's manager): nothing to carry. */
    ProcessCarrier NONE = new ProcessCarrier() {
      @Override
      public List<MovedProcess> leaving(String sandboxId) {
        return List.of();
      }

      @Override
      public void left(String sandboxId) {}

      @Override
      public void arrived(String sandboxId, List<MovedProcess> processes) {}
    };
  }

  public void carryProcessesWith(ProcessCarrier carrier) {
    listeners.carryProcessesWith(carrier);
  }

  public void onAgent(AgentListener listener) {
    listeners.onAgent(listener);
  }

  /** Called with a sandbox's id once it is deleted. */
  public void onDeleted(Consumer<String> listener) {
    listeners.onDeleted(listener);
  }

  /** Closes agent channels but leaves VMs running: they are re-adopted by the next daemon. */
  @Override
  public void close() {
    pools.close();
    snapshotPolicy.close();
    buildVms.stopAll();
    for (LiveSandbox sb : live.all()) {
      sb.stopping = true;
      if (sb.agent != null) sb.agent.close();
      if (sb.vm != null) sb.vm.detach();
    }
    live.clear();
  }
}
