package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host's real control groups (v1 here, v2 on current distributions): made, joined before exec, limited, counted, removed. */
class VmCgroupsTest {
  private static final Path ROOT = Path.of("/sys/fs/cgroup");
  private final String scope = "test-" + ProcessHandle.current().pid();
  @TempDir
  Path data;
  private Cgroups cgroups;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (Process p : started) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    if (cgroups != null) {
      cgroups.sweep();
      for (String c : List.of("", "cpu", "cpuacct", "memory", "pids", "blkio")) {
        Files.deleteIfExists(ROOT.resolve(c).resolve("kiln-" + scope));
      }
    }
  }

  private Cgroups cgroups() {
    Optional<Cgroups> c = Cgroups.detect(ROOT, scope, data);
    assumeTrue(c.isPresent(), "this host has no cgroups the test can make groups in (see the log)");
    cgroups = c.get();
    return cgroups;
  }

  @Test
  void aProcessStartedThroughTheOpenerIsInItsGroupWithItsLimitsBeforeItRuns() throws Exception {
    VmCgroups groups = new VmCgroups(cgroups());
    Object owner = new Object();
    VmLimits limits = new VmLimits(2, 640L << 20, 64, 100L << 20);
    List<Path> procs = groups.prepare("sb-limits", limits, owner);
    List<String> argv = new ArrayList<>(QemuBackend.opener(List.of(), java.util.Optional.empty(), procs));
    argv.addAll(List.of("cat", "/proc/self/cgroup"));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    started.add(p);
    String cgroupsOfTheExecutedProgram = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor());
    assertTrue(cgroupsOfTheExecutedProgram.contains("/kiln-" + scope + "/sb-limits"), cgroupsOfTheExecutedProgram);

    if (cgroups.version() == 1) {
      Path g = ROOT.resolve("cpu/kiln-" + scope + "/sb-limits");
      assertEquals("300000", Files.readString(g.resolve("cpu.cfs_quota_us")).strip(), "two vCPUs' worth and QEMU's own core per 100 ms");
      assertEquals(Long.toString(640L << 20), Files.readString(ROOT.resolve("memory/kiln-" + scope + "/sb-limits/memory.limit_in_bytes")).strip());
      assertEquals("64", Files.readString(ROOT.resolve("pids/kiln-" + scope + "/sb-limits/pids.max")).strip());
    } else {
      Path g = ROOT.resolve("kiln-" + scope + "/sb-limits");
      assertEquals("300000 100000", Files.readString(g.resolve("cpu.max")).strip());
      assertEquals(Long.toString(640L << 20), Files.readString(g.resolve("memory.max")).strip());
      assertEquals("64", Files.readString(g.resolve("pids.max")).strip());
    }
  }

  @Test
  void usageCountsAndTheGroupGoesWithItsLastQemuButNotWithAnOlderOne() throws Exception {
    VmCgroups groups = new VmCgroups(cgroups());
    Object first = new Object();
    List<Path> procs = groups.prepare("sb-usage", new VmLimits(1, 256L << 20, 64, 100L << 20), first);
    List<String> argv = new ArrayList<>(QemuBackend.opener(List.of(), java.util.Optional.empty(), procs));
    argv.addAll(List.of("sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 600"));
    Process p = new ProcessBuilder(argv).start();
    started.add(p);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
        .until(() -> groups.usage("sb-usage").map(u -> u.cpuNanos() > 0 && u.memoryBytes() > 0).orElse(false));
    assertEquals(256L << 20, groups.usage("sb-usage").orElseThrow().memoryLimitBytes());

    // A newer QEMU under the same name (a resume) took the group: the older one's exit leaves it.
    Object second = new Object();
    groups.prepare("sb-usage", new VmLimits(1, 256L << 20, 64, 100L << 20), second);
    groups.release("sb-usage", first);
    assertTrue(groups.usage("sb-usage").isPresent(), "the older QEMU's exit removed the newer one's group");

    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    groups.release("sb-usage", second);
    assertFalse(groups.usage("sb-usage").isPresent(), "the group went with its last QEMU");
  }

  @Test
  void aStoppingDaemonsGroupStaysWhileAVmRunsInItAndGoesOnceNoneDoes() throws Exception {
    VmCgroups groups = new VmCgroups(cgroups());
    List<Path> procs = groups.prepare("sb-left-running", new VmLimits(1, 256L << 20, 64, 100L << 20), new Object());
    groups.prepare("sb-ended", new VmLimits(1, 256L << 20, 64, 100L << 20), new Object());
    List<String> argv = new ArrayList<>(QemuBackend.opener(List.of(), java.util.Optional.empty(), procs));
    argv.addAll(List.of("sleep", "600"));
    Process p = new ProcessBuilder(argv).start();
    started.add(p);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> groups.usage("sb-left-running").map(u -> u.memoryBytes() > 0).orElse(false));
    Path own = cgroups.version() == 1 ? ROOT.resolve("memory/kiln-" + scope) : ROOT.resolve("kiln-" + scope);

    groups.leave();
    assertTrue(Files.isDirectory(own.resolve("sb-left-running")), "a VM left running for the next start keeps its group");
    assertFalse(Files.exists(own.resolve("sb-ended")), "an empty VM group went");

    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    groups.leave();
    assertFalse(Files.exists(own), "the daemon's own group went with its last VM");
  }
}
