package dev.kiln.sandbox;

import dev.kiln.error.KilnException;
import dev.kiln.store.EventRepository;
import dev.kiln.vmm.DiskParents;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a running sandbox's disk from standing on more than {@code sandboxQuotas.diskLayers}
 * frozen layers: every checkpoint adds one, and a read the top layer cannot answer walks them
 * all. Past the limit, what the frozen layers hold is streamed into the sandbox's own layer (QEMU's
 * block-stream, the guest running on), which then stands on the chain's base (the template's
 * image) alone. The frozen layers stay for the checkpoints and forks built on them.
 *
 * <p>Runs in the background after the checkpoint or restore that passed the limit, under the
 * sandbox's lifecycle lock, so no pause, checkpoint or delete comes between; exec and files go on.
 * Its record is written once the stream is done: until then the old one is right too (the top
 * layer then holds copies of what the old chain holds, nothing else).
 */
final class DiskFlattening {
  private static final Logger log = LoggerFactory.getLogger(DiskFlattening.class);
  /** A stream copies what the sandbox wrote since its template; past this, something is wrong with the host. */
  private static final Duration LONGEST = Duration.ofMinutes(30);

  private final SandboxLocks locks;
  private final DiskQuota quota;
  private final EventRepository events;
  private final UnusedDisks unused;
  private final int maxLayers;

  DiskFlattening(SandboxLocks locks, DiskQuota quota, EventRepository events, UnusedDisks unused, int maxLayers) {
    this.locks = locks;
    this.quota = quota;
    this.events = events;
    this.unused = unused;
    this.maxLayers = maxLayers;
  }

  /** After the sandbox's chain grew: flattens it in the background if it now stands on too many layers. */
  void afterChainGrew(String sandboxId, Path top) {
    try {
      if (DiskParents.below(top).size() - 1 <= maxLayers) return;
    } catch (IOException e) {
      log.warn("disk chain unreadable sandbox={}: {}", sandboxId, e.getMessage());
      return;
    }
    Thread.ofVirtual().name("flatten-" + sandboxId).start(() -> {
      try {
        locks.underLifecycleLock(sandboxId, (sb, r) -> {
          if (SandboxRows.stateOf(r) == SandboxState.RUNNING && sb.vm != null) flatten(sandboxId, sb.vm);
          return null;
        });
      } catch (KilnException e) {
        log.info("disk not flattened sandbox={}: {}", sandboxId, e.getMessage()); // deleted or moved meanwhile
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }

  private void flatten(String sandboxId, RunningVm vm) throws InterruptedException {
    Path top = vm.spec().rootDisk();
    List<Path> below;
    long streamed = 0;
    try {
      below = DiskParents.below(top);
      if (below.size() - 1 <= maxLayers) return;
      for (Path layer : below.subList(0, below.size() - 1)) streamed += Files.size(layer);
    } catch (IOException e) {
      log.warn("disk chain unreadable sandbox={}: {}", sandboxId, e.getMessage());
      return;
    }
    Path base = below.getLast();
    try {
      quota.check(sandboxId, top, streamed, "flattening its disk");
    } catch (KilnException e) {
      events.append(sandboxId, "not-flattened", "its disk stands on " + (below.size() - 1) + " layers, but " + e.getMessage());
      return;
    }
    long start = System.nanoTime();
    try {
      vm.flattenDisk(base, LONGEST);
      DiskParents.record(top, base.toAbsolutePath().toString());
    } catch (VmmException | IOException e) {
      log.warn("disk flattening failed sandbox={}: {}", sandboxId, e.getMessage());
      events.append(sandboxId, "not-flattened", "flattening its disk failed: " + e.getMessage());
      return;
    }
    long took = (System.nanoTime() - start) / 1_000_000;
    events.append(sandboxId, "flattened", "its disk stood on " + (below.size() - 1) + " frozen layers (past sandboxQuotas.diskLayers, " + maxLayers
        + "); " + (streamed >> 20) + " MiB of them copied into its own layer in " + took + " ms");
    log.info("disk flattened sandbox={} layers={} streamed_mib={} took_ms={}", sandboxId, below.size() - 1, streamed >> 20, took);
    unused.collect();
  }
}
