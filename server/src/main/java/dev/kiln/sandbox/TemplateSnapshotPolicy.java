package dev.kiln.sandbox;

import dev.kiln.agent.AgentException;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateService;
import dev.kiln.vmm.Hotplug;
import dev.kiln.vmm.Machine;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When templates are snapshotted: every built template, in the background, on its machine at the
 * default sandbox size (with and without a network device when networking is on), once at daemon start for those
 * without one, and on request. Remembers why a template's last snapshot failed, for the events of
 * the sandboxes that boot instead.
 */
final class TemplateSnapshotPolicy implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TemplateSnapshotPolicy.class);
  /** How long close waits for an aborted snapshot to clean up (its VM is already stopped; this is file and namespace removal). */
  private static final Duration SNAPSHOT_ABORT_WAIT = Duration.ofSeconds(15);

  private final TemplateService templates;
  private final TemplateSnapshots snapshots;
  private final WarmPools pools;
  private final SandboxNetworks networks;
  private final SandboxLimits limits;
  private final UnusedDisks unused;
  private final Map<String, String> failures = new ConcurrentHashMap<>();
  /** One snapshot at a time per template. */
  private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
  /** Threads inside {@link #snapshot}: close waits for them, so their VM and scratch namespace are gone before the daemon is. */
  private final Set<Thread> snapshotting = ConcurrentHashMap.newKeySet();

  TemplateSnapshotPolicy(TemplateService templates, TemplateSnapshots snapshots, WarmPools pools, SandboxNetworks networks, SandboxLimits limits,
      UnusedDisks unused) {
    this.unused = unused;
    this.templates = templates;
    this.snapshots = snapshots;
    this.pools = pools;
    this.networks = networks;
    this.limits = limits;
  }

  /**
   * Snapshots a built template at the default sandbox size, so creates of that size restore
   * instead of booting. Allowed while sandboxes use the template: the snapshot is a new artifact,
   * and theirs (disks layered on it, RAM mapped from it) stays as it was. The template shows SNAPSHOTTING meanwhile and READY after,
   * whether the snapshot was taken or failed (then its sandboxes boot, and their events say why).
   */
  TemplateSnapshots.Manifest snapshot(String templateName) throws InterruptedException {
    Template t = templates.ready(templateName);
    ReentrantLock lock = locks.computeIfAbsent(t.name(), k -> new ReentrantLock());
    snapshotting.add(Thread.currentThread());
    lock.lock();
    try {
      templates.snapshotStarted(t.name());
      pools.drain(t.name()); // its VMs are clones of the snapshot being superseded
      TemplateSnapshots.Manifest m = snapshots.take(t, limits.vcpusFor(t), limits.memoryMibFor(t), room(t), Optional.empty()).manifest();
      if (networks.available()) takeNetworked(t);
      failures.remove(t.name());
      return m;
    } catch (IOException | VmmException | AgentException | IllegalStateException | dev.kiln.host.CommandException e) {
      failures.put(t.name(), e.getMessage() == null ? "unknown reason" : e.getMessage());
      throw new KilnException(ErrorCode.SNAPSHOT_FAILED, "snapshot of template " + t.name() + " failed: " + e.getMessage(), e);
    } finally {
      try {
        templates.snapshotEnded(t.name());
        lock.unlock();
        pools.refill(t.name());
        unused.collect(); // the snapshot (and, after a rebuild, the image) it superseded, if nothing is built on them
      } finally {
        snapshotting.remove(Thread.currentThread());
      }
    }
  }

  /** The variant with a network device: the snapshot VM gets a scratch namespace closed to everything. */
  private void takeNetworked(Template t) throws IOException, VmmException, AgentException, InterruptedException {
    snapshots.ensureNotAborted(); // no scratch namespace for a snapshot that will not run
    String scratch = "snapnet-" + SandboxId.random().value().substring(3);
    Optional<VmSpec.Nic> nic = networks.attachScratch(scratch);
    try {
      snapshots.take(t, limits.vcpusFor(t), limits.memoryMibFor(t), room(t), nic);
    } finally {
      networks.releaseScratch(scratch);
    }
  }

  private Optional<Hotplug> room(Template t) {
    return limits.roomFor(t.machine(), limits.memoryMibFor(t));
  }

  /** Every template that is built is snapshotted in the background (it is SNAPSHOTTING until then). */
  void snapshotInBackground(Template t) {
    if (!missing(t, false) && !(networks.available() && missing(t, true))) {
      // A rebuild that ended on the very image it had (a Dockerfile build with nothing changed): its snapshots still hold.
      templates.snapshotEnded(t.name());
      log.info("template={} keeps its snapshots: they were taken on the image it was built into again", t.name());
      return;
    }
    Thread.ofVirtual().name("snapshot-" + t.name()).start(() -> {
      try {
        snapshot(t.name());
      } catch (KilnException e) {
        log.warn("template={} not snapshotted; its sandboxes boot cold: {}", t.name(), e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }

  /**
   * At daemon start: snapshots in the background every
   * ready template that has no usable snapshot at the default size.
   */
  void snapshotTemplatesWithout() {
    for (Template t : templates.list()) {
      if (!t.built()) continue;
      boolean missing = missing(t, false) || networks.available() && missing(t, true);
      // Marked before the API serves: the template never shows ready while its snapshot is missing.
      if (missing && templates.snapshotStarted(t.name())) {
        snapshotInBackground(t);
      }
    }
  }

  /**
   * No snapshot a default-sized sandbox can restore from here, and none in the object store either
   * (one another node took is fetched on first use, not at start, and not taken again here).
   */
  private boolean missing(Template t, boolean network) {
    if (snapshots.onlyInObjectStore(t, network)) return false;
    return snapshots.usable(t, t.machine(), limits.vcpusFor(t), limits.memoryMibFor(t), network).isEmpty();
  }

  /**
   * The template snapshot a new sandbox of this size can restore from, or why there is none, in
   * words for its "created" event: being taken right now, failed, turned off, or taken at another
   * size (the snapshot's own reasons).
   */
  TemplateSnapshots.Lookup snapshotFor(Template template, Machine machine, int vcpus, long memoryMib, boolean network) {
    if (template.status() == Template.Status.SNAPSHOTTING) {
      return TemplateSnapshots.Lookup.none("template snapshot not taken yet (template '" + template.name() + "' is being snapshotted now; "
          + "sandboxes created once it is ready restore from it)");
    }
    TemplateSnapshots.Lookup found = snapshots.find(template, machine, vcpus, memoryMib, network);
    if (found.snapshot().isPresent() || found.snapshotExists()) return found;
    String failed = failures.get(template.name());
    if (failed != null) return TemplateSnapshots.Lookup.none("the snapshot of template '" + template.name() + "' failed: " + failed);
    if (!templates.snapshotsEnabled()) {
      return TemplateSnapshots.Lookup.none("template '" + template.name() + "' has no snapshot, and this daemon takes none (templateSnapshots is false)");
    }
    return found;
  }

  /** The template's snapshot as the API shows it, if it has one. */
  Optional<TemplateSnapshots.Manifest> snapshotOf(Template t) {
    return snapshots.describe(t);
  }

  /** Stops snapshots in flight and waits (a while) for them to clean up. */
  @Override
  public void close() {
    snapshots.abortAll();
    for (Thread t : snapshotting) {
      try {
        if (!t.join(SNAPSHOT_ABORT_WAIT)) log.warn("an aborted template snapshot did not finish its cleanup within {} s", SNAPSHOT_ABORT_WAIT.toSeconds());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
  }
}
