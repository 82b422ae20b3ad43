package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.parallel.Isolated;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sandbox that burns CPU, forks without end or allocates beyond its RAM hurts only itself: its
 * QEMU runs in a control group of its own (cpu quota of its vCPUs and one core for QEMU, memory of its RAM plus a
 * bounded overhead, pids), which every QEMU of it joins before it runs.
 *
 * <p>Isolated: its noisy-neighbour check compares exec times before and during an attack, which a
 * class running beside it would skew.
 */
@Tag("system")
@Isolated
class ResourceLimitsSystemTest extends SnapshottedHostTest {
  private static final Logger log = LoggerFactory.getLogger(ResourceLimitsSystemTest.class);

  private static TestHost.Reply exec(String id, String command) throws Exception {
    return host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command));
  }

  private static long qemuPid(String id) throws Exception {
    return Long.parseLong(Files.readString(host.dir.resolve("data/sandboxes").resolve(id).resolve("qemu.pid")).strip());
  }

  /** The control group paths a process is in, as /proc/PID/cgroup lists them. */
  private static String cgroupsOf(long pid) throws Exception {
    return Files.readString(Path.of("/proc", Long.toString(pid), "cgroup"));
  }

  private static void assertInItsOwnGroup(String id) throws Exception {
    String groups = cgroupsOf(qemuPid(id));
    assertTrue(groups.lines().anyMatch(l -> l.matches(".*(memory|^0:).*/kiln-[0-9a-f]{12}/" + id) || l.matches("0::/kiln-[0-9a-f]{12}/" + id)), groups);
  }

  private static double medianExecMillis(String id, int n) throws Exception {
    List<Double> ms = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      assertEquals(200, exec(id, "true").status());
      ms.add((System.nanoTime() - t0) / 1e6);
    }
    ms.sort(null);
    return ms.get(n / 2);
  }

  @Test
  void usageIsReadableAndLimitsHoldAcrossPauseResumeAndFork() throws Exception {
    String id = host.createSandbox();
    assertInItsOwnGroup(id);
    assertEquals(200, exec(id, "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done").status());
    JsonNode m = host.call("GET", "/v1/sandboxes/" + id + "/metrics", null).json();
    assertTrue(m.path("cpuSeconds").asDouble() > 0, m.toString());
    long memory = m.path("memoryBytes").asLong();
    long limit = m.path("memoryLimitBytes").asLong();
    assertTrue(memory > 0 && memory <= limit, m.toString());
    assertEquals((256L + 192 + 256) << 20, limit, "its 256 MiB of RAM plus QEMU's bounded overhead under TCG: " + m);
    assertTrue(m.path("diskBytes").asLong() > 0, m.toString());
    String prometheus = host.call("GET", "/metrics", null).raw();
    assertTrue(prometheus.contains("kiln_sandbox_cpu_seconds_total{sandbox=\"" + id + "\"}"), prometheus);
    assertTrue(prometheus.contains("kiln_sandbox_memory_limit_bytes{sandbox=\"" + id + "\"} " + limit), prometheus);

    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/pause", null).status());
    assertEquals(0, host.call("GET", "/v1/sandboxes/" + id + "/metrics", null).json().path("memoryBytes").asLong(), "no VM, no memory");
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/resume", null).status());
    assertInItsOwnGroup(id);
    assertEquals(limit, host.call("GET", "/v1/sandboxes/" + id + "/metrics", null).json().path("memoryLimitBytes").asLong());

    TestHost.Reply forked = host.call("POST", "/v1/sandboxes/" + id + "/fork", Map.of("count", 1));
    assertEquals(201, forked.status(), forked.raw());
    String child = forked.json().path("sandboxes").get(0).path("id").asText();
    assertInItsOwnGroup(child);
    assertEquals(limit, host.call("GET", "/v1/sandboxes/" + child + "/metrics", null).json().path("memoryLimitBytes").asLong());
    assertEquals(404, host.call("GET", "/v1/sandboxes/sb-aaaaaaaaaaaaaaaa/metrics", null).status());
  }

  @Test
  void aForkBombAndABusyLoopInOneSandboxLeaveAnotherResponsiveAndItDeletable() throws Exception {
    String attacker = host.createSandbox();
    String victim = host.createSandbox();
    medianExecMillis(victim, 5); // warm the path
    double before = medianExecMillis(victim, 21);
    TestHost.Reply loop = host.call("POST", "/v1/sandboxes/" + attacker + "/processes", Map.of("command", "while :; do :; done"));
    assertEquals(201, loop.status(), loop.raw());
    TestHost.Reply bomb = host.call("POST", "/v1/sandboxes/" + attacker + "/processes", Map.of("command", "b() { b | b & }; b"));
    assertEquals(201, bomb.status(), bomb.raw());
    double during = medianExecMillis(victim, 21);
    log.info("victim exec round trip median before={} ms during the attack={} ms ratio={}", before, during, during / before);
    assertTrue(during <= 3 * before, "victim exec median " + during + " ms under attack against " + before + " ms before");
    long t0 = System.nanoTime();
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + attacker, null).status());
    log.info("attacker deleted in {} ms", (System.nanoTime() - t0) / 1_000_000);
    assertEquals(200, exec(victim, "true").status());
  }

  @Test
  void aGuestAllocatingBeyondItsRamIsOomKilledInsideItsOwnVm() throws Exception {
    String greedy = host.createSandbox();
    String other = host.createSandbox();
    long pid = qemuPid(greedy);
    // Four 90 MiB buffers, each filled over and over, in a 256 MiB guest: each allocation alone
    // fits, together they do not, and the guest's kernel kills one of them.
    TestHost.Reply hog = exec(greedy, "for i in 1 2 3 4; do dd if=/dev/zero of=/dev/null bs=90M count=20 2>/dev/null & done; "
        + "ok=0; for j in 1 2 3 4; do wait %$j && ok=$((ok+1)); done; [ $ok -eq 4 ] && echo survived");
    log.info("hog answered {}: {}", hog.status(), hog.raw().length() > 500 ? hog.raw().substring(0, 500) : hog.raw());
    assertTrue(hog.status() != 200 || !hog.json().path("stdout").asText().contains("survived"), "the hog was not stopped: " + hog.raw());
    assertEquals(pid, qemuPid(greedy), "the same QEMU runs on: the guest, not the host, killed");
    assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    assertEquals("ok", exec(greedy, "echo ok").json().path("stdout").asText().strip());
    String kernel = exec(greedy, "dmesg | grep -ci 'killed process'").json().path("stdout").asText().strip();
    assertTrue(Integer.parseInt(kernel) >= 1, "the guest kernel's log names the kill: " + exec(greedy, "dmesg | tail -20").raw());
    JsonNode m = host.call("GET", "/v1/sandboxes/" + greedy + "/metrics", null).json();
    assertTrue(m.path("memoryBytes").asLong() <= m.path("memoryLimitBytes").asLong(), m.toString());
    assertEquals(200, exec(other, "true").status());
  }

  @Test
  void aGuestFloodingItsConsoleLeavesTheHostsCopyAtItsCap() throws Exception {
    String id = host.createSandbox();
    Path console = host.dir.resolve("data/sandboxes").resolve(id).resolve("console.log");
    long bytes = 4 * dev.kiln.vmm.ConsoleLog.CAP_BYTES; // under TCG the serial line carries ~0.4 MiB/s: 1 GiB would take 45 min
    long t0 = System.nanoTime();
    TestHost.Reply flood = host.call("POST", "/v1/sandboxes/" + id + "/exec",
        Map.of("command", "head -c " + bytes + " /dev/zero | tr '\\0' x > /dev/ttyS0; echo sent", "timeoutSeconds", 600));
    assertEquals(200, flood.status(), flood.raw());
    assertEquals("sent", flood.json().path("stdout").asText().strip(), flood.raw());
    double secs = (System.nanoTime() - t0) / 1e9;
    log.info("console flood: {} MiB in {} s ({} MiB/s)", bytes >> 20, secs, (bytes >> 20) / secs);
    // The last of it reaches the log a moment after the guest wrote it.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> {
      byte[] tail = dev.kiln.vmm.ConsoleLog.tail(console, 16);
      return tail.length == 16 && new String(tail).equals("x".repeat(16));
    });
    long kept = Files.size(console) + Files.size(dev.kiln.vmm.ConsoleLog.older(console));
    assertTrue(kept <= dev.kiln.vmm.ConsoleLog.CAP_BYTES, "the host keeps " + kept + " bytes of the console");
    assertTrue(kept >= dev.kiln.vmm.ConsoleLog.CAP_BYTES / 2, "and the flood did reach it: " + kept);
    assertEquals("x".repeat(100), host.call("GET", "/v1/sandboxes/" + id + "/console?bytes=100", null).raw());
  }
}
