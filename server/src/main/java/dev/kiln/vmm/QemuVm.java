package dev.kiln.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A QEMU process started (or adopted) by {@link QemuBackend}. It is not our child: it has its own session. */
final class QemuVm implements RunningVm {
  private static final Logger log = LoggerFactory.getLogger(QemuVm.class);
  /** Replaced by a hot-plug: the VM's devices as they are now. */
  private volatile VmSpec spec;
  private final ProcessHandle process;
  private final QmpClient qmp;
  private final CompletableFuture<Void> exit;
  private final java.util.Optional<VmmIdentity> identity;
  private final java.util.Optional<VmCgroups> cgroups;

  QemuVm(VmSpec spec, ProcessHandle process, QmpClient qmp, java.util.Optional<VmmIdentity> identity, java.util.Optional<VmCgroups> cgroups,
      Object cgroupOwner, java.util.Optional<ConsoleLog> console) {
    this.spec = spec;
    this.identity = identity;
    this.cgroups = cgroups;
    this.process = process;
    this.qmp = qmp;
    this.exit = process.onExit().thenApply(p -> {
      console.ifPresent(ConsoleLog::close);
      cgroups.ifPresent(c -> c.release(spec.name(), cgroupOwner));
      return null;
    });
  }

  @Override
  public java.util.Optional<Cgroups.Usage> usage() {
    return cgroups.flatMap(c -> c.usage(spec.name()));
  }

  /** The VM grew: its group's limits follow, or it would be OOM-killed for RAM it was given. */
  private void limitsFollow() throws VmmException {
    if (cgroups.isEmpty()) return;
    try {
      cgroups.get().update(spec.name(), VmLimits.of(spec));
    } catch (IOException e) {
      throw new VmmException("the limits of " + spec.name() + " could not follow its growth: " + e.getMessage(), e);
    }
  }

  /** Guest-visible events worth an operator's attention; the rest are routine. */
  static void onEvent(VmSpec spec, QmpClient.QmpEvent ev) {
    switch (ev.name()) {
      case "SHUTDOWN", "RESET", "GUEST_PANICKED", "STOP" -> log.info("vm event vm={} event={} data={}", spec.name(), ev.name(), ev.data());
      default -> log.debug("vm event vm={} event={}", spec.name(), ev.name());
    }
  }

  QmpClient qmp() {
    return qmp;
  }

  @Override
  public VmSpec spec() {
    return spec;
  }

  @Override
  public long pid() {
    return process.pid();
  }

  @Override
  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public CompletableFuture<Void> onExit() {
    return exit;
  }

  @Override
  public void stop(Duration grace) throws VmmException, InterruptedException {
    qmp.close();
    try {
      if (!process.isAlive()) return;
      process.destroy(); // SIGTERM: QEMU exits promptly and cleanly on it
      if (!waitExit(grace)) {
        log.warn("vm={} pid={} ignored SIGTERM for {} ms; sending SIGKILL", spec.name(), pid(), grace.toMillis());
        process.destroyForcibly();
        if (!waitExit(Duration.ofSeconds(5))) throw new VmmException("QEMU pid " + pid() + " of " + spec.name() + " survived SIGKILL");
      }
      log.info("stopped vm={} pid={}", spec.name(), pid());
    } finally {
      removeQuietly(spec.agentSocket(), spec.qmpSocket(), spec.consoleSocket(), spec.pidFile());
    }
  }

  @Override
  public void detach() {
    qmp.close();
  }

  @Override
  public SavedState saveState(Path target, Duration timeout) throws VmmException, InterruptedException {
    return QemuMigration.save(spec, qmp, identity, target, timeout);
  }

  @Override
  public MigrationStats migrateOut(MigrationSettings settings, MigrationSink sink) throws VmmException, InterruptedException {
    return QemuMigration.sendLive(spec, qmp, identity, settings, sink);
  }

  @Override
  public boolean stoppedByMigration() throws VmmException, InterruptedException {
    return qmp.execute("query-status", null, Duration.ofSeconds(10)).path("status").asText().equals("postmigrate");
  }

  @Override
  public Path freezeDisk(DiskLayers disks) throws VmmException, IOException, InterruptedException {
    Path frozen = spec.rootDisk();
    Path next = disks.create(new DiskBase.Layer(frozen));
    try {
      pause();
      if (identity.isPresent()) QemuBackend.giveTo(next, identity.get());
      // "existing": the daemon made the layer (and recorded its parent); QEMU opens it without
      // following its header and puts it over the node it names.
      qmp.execute("blockdev-snapshot-sync", java.util.Map.of("node-name", QemuCommandLine.nodeName(frozen), "snapshot-file", next.toString(),
          "snapshot-node-name", QemuCommandLine.nodeName(next), "format", "qcow2", "mode", "existing"), Duration.ofSeconds(30));
    } catch (IOException | VmmException | RuntimeException e) {
      disks.discard(next); // not recorded anywhere yet: nothing else would remove it
      throw e;
    }
    spec = spec.withRootDisk(next);
    DiskLayers.freeze(frozen);
    return next;
  }

  @Override
  public void flattenDisk(Path base, Duration timeout) throws VmmException, InterruptedException {
    String job = "flatten";
    qmp.execute("block-stream", java.util.Map.of("job-id", job, "device", QemuCommandLine.nodeName(spec.rootDisk()),
        "base-node", bottomNode(), "backing-file", base.toString(), "auto-dismiss", false), Duration.ofSeconds(30));
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean cancelled = false;
    while (true) {
      JsonNode state = null;
      for (JsonNode j : qmp.execute("query-jobs", null, Duration.ofSeconds(10))) {
        if (j.path("id").asText().equals(job)) state = j;
      }
      if (state == null) throw new VmmException("vm " + spec.name() + ": its disk stream job is gone without an outcome");
      if (state.path("status").asText().equals("concluded")) {
        // Dismissed whatever the outcome: the job id is free for the next flattening.
        qmp.execute("job-dismiss", java.util.Map.of("id", job), Duration.ofSeconds(10));
        if (cancelled) throw new VmmException("vm " + spec.name() + ": flattening its disk took longer than " + timeout.toSeconds() + " s; cancelled");
        if (state.has("error")) throw new VmmException("vm " + spec.name() + ": flattening its disk failed: " + state.path("error").asText());
        return;
      }
      if (!cancelled && System.nanoTime() > deadline) {
        qmp.execute("job-cancel", java.util.Map.of("id", job), Duration.ofSeconds(10));
        cancelled = true;
      }
      // A job's progress has no event this client waits on; a stream takes seconds, so a few polls a second cost nothing.
      Thread.sleep(STREAM_POLL);
    }
  }

  private static final Duration STREAM_POLL = Duration.ofMillis(50);

  /**
   * The node of the chain's bottom: the command line names the layers below the first top b0, b1…
   * nearest first (QemuCommandLine), and layers frozen since sit above them, so the highest bN is
   * the base. QEMU's list is trusted only to say which names exist: a lie would stream the wrong
   * data into this VM's own disk, which its QEMU can write anyway.
   */
  private String bottomNode() throws VmmException, InterruptedException {
    String bottom = null;
    int highest = -1;
    for (JsonNode n : qmp.execute("query-named-block-nodes", java.util.Map.of("flat", true), Duration.ofSeconds(10))) {
      String name = n.path("node-name").asText();
      if (name.matches("b[0-9]{1,4}") && Integer.parseInt(name.substring(1)) > highest) {
        highest = Integer.parseInt(name.substring(1));
        bottom = name;
      }
    }
    if (bottom == null) throw new VmmException("vm " + spec.name() + " has no explicit disk chain (it was started by an earlier Kiln): not flattened");
    return bottom;
  }

  @Override
  public void growRootDisk(long bytes) throws VmmException, InterruptedException {
    qmp.execute("block_resize", java.util.Map.of("node-name", QemuCommandLine.nodeName(spec.rootDisk()), "size", bytes), Duration.ofSeconds(30));
  }

  @Override
  public void pause() throws VmmException, InterruptedException {
    qmp.execute("stop", null, Duration.ofSeconds(10));
  }

  @Override
  public void resume() throws VmmException, InterruptedException {
    qmp.execute("cont", null, Duration.ofSeconds(10));
  }

  @Override
  public synchronized void setVcpus(int vcpus) throws VmmException, InterruptedException {
    QemuHotplug.checkVcpus(spec, vcpus);
    while (spec.vcpus() < vcpus) spec = QemuHotplug.addVcpu(spec, qmp);
    limitsFollow();
    log.info("vm={} vcpus={}", spec.name(), spec.vcpus());
  }

  @Override
  public synchronized void setMemoryMib(long memoryMib) throws VmmException, InterruptedException {
    // Raised before the DIMM arrives: the guest may touch it at once.
    long before = spec.totalMemoryMib();
    if (memoryMib > before && cgroups.isPresent()) {
      try {
        cgroups.get().update(spec.name(), VmLimits.of(spec, memoryMib));
      } catch (IOException e) {
        throw new VmmException("the memory limit of " + spec.name() + " could not be raised: " + e.getMessage(), e);
      }
    }
    spec = QemuHotplug.setMemoryMib(spec, qmp, memoryMib);
    limitsFollow();
    log.info("vm={} memory_mib={}", spec.name(), spec.totalMemoryMib());
  }

  private boolean waitExit(Duration d) throws InterruptedException {
    try {
      exit.get(d.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (java.util.concurrent.ExecutionException e) {
      return !process.isAlive();
    }
  }

  private static void removeQuietly(Path... paths) {
    for (Path p : paths) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        log.warn("could not remove {}: {}", p, e.toString());
      }
    }
  }
}
