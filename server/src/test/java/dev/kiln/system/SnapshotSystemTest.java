package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Sandboxes restored from the template snapshot instead of booted: identity, isolation, fallback. */
@Tag("system")
class SnapshotSystemTest extends SnapshottedHostTest {

  private static String create() throws Exception {
    return host.createSandbox(Map.of("template", TestHost.TEMPLATE));
  }

  private static JsonNode exec(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command));
    assertEquals(200, r.status(), r.raw());
    return r.json();
  }

  private static String startedFrom(String id) throws Exception {
    return host.call("GET", "/v1/sandboxes/" + id, null).json().path("startedFrom").asText();
  }

  /** The message of the sandbox's "created" event: how it came up, and why when that was the slow way. */
  static String createdHow(TestHost h, String id) throws Exception {
    for (JsonNode e : h.call("GET", "/v1/sandboxes/" + id + "/events", null).json().path("events")) {
      if (e.path("kind").asText().equals("created")) return e.path("message").asText();
    }
    throw new AssertionError("sandbox " + id + " has no created event");
  }

  @Test
  void clonesHaveTheirOwnClockEntropyAndDisk() throws Exception {
    String a = create();
    String b = create();
    assertEquals("snapshot", startedFrom(a));
    assertEquals("snapshot", startedFrom(b));

    long before = System.currentTimeMillis() / 1000;
    long guest = Long.parseLong(exec(a, "date +%s").path("stdout").asText().strip());
    long after = (System.currentTimeMillis() + 999) / 1000;
    assertTrue(guest >= before - 1 && guest <= after + 1, "guest clock " + guest + " vs host " + before + ".." + after);

    String randomA = exec(a, "head -c 32 /dev/urandom | od -An -tx1").path("stdout").asText();
    String randomB = exec(b, "head -c 32 /dev/urandom | od -An -tx1").path("stdout").asText();
    assertNotEquals(randomA, randomB, "two clones of one snapshot must not produce the same random bytes");

    exec(a, "echo only-in-a > /root/mark");
    assertEquals("only-in-a\n", exec(a, "cat /root/mark").path("stdout").asText());
    assertEquals(1, exec(b, "cat /root/mark").path("exitCode").asInt(-1), "a clone's writes are its own");
    assertEquals("ok\n", exec(b, "touch /root/writable && echo ok").path("stdout").asText(), "the restored root filesystem is thawed");
    host.call("DELETE", "/v1/sandboxes/" + a, null);
    host.call("DELETE", "/v1/sandboxes/" + b, null);
  }

  @Test
  void tenConcurrentCreatesFromOneSnapshotAllRun() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(10);
    try {
      List<Future<String>> ids = new ArrayList<>();
      for (int i = 0; i < 10; i++) ids.add(pool.submit(SnapshotSystemTest::create));
      for (Future<String> f : ids) {
        String id = f.get();
        assertEquals("snapshot", startedFrom(id));
        assertEquals(id + "\n", exec(id, "echo " + id).path("stdout").asText());
        host.call("DELETE", "/v1/sandboxes/" + id, null);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aCorruptedSnapshotIsDetectedAndTheSandboxBootsInstead() throws Exception {
    Path state = host.snapshotDir(false).orElseThrow().resolve("state");
    byte[] original = Files.readAllBytes(state);
    byte[] corrupt = original.clone();
    corrupt[corrupt.length / 2] ^= 0x5a;
    Files.write(state, corrupt);
    try {
      String id = create();
      assertEquals("boot", startedFrom(id), "the checksum catches the damage; the sandbox boots cold");
      String how = createdHow(host, id);
      assertTrue(how.startsWith("booted: the template snapshot did not restore (") && how.contains("does not match its checksum"), how);
      assertEquals("fine\n", exec(id, "echo fine").path("stdout").asText());
      host.call("DELETE", "/v1/sandboxes/" + id, null);
    } finally {
      Files.write(state, original);
    }
    String id = create();
    assertEquals("snapshot", startedFrom(id));
    host.call("DELETE", "/v1/sandboxes/" + id, null);
  }

  @Test
  void otherSizesBoot() throws Exception {
    String id = host.createSandbox(Map.of("template", TestHost.TEMPLATE, "memoryMib", 256));
    assertEquals("boot", startedFrom(id), "the snapshot was taken at the default size");
    assertEquals("booted: size differs from the template snapshot (it has 1 vCPUs and 512 MiB; this sandbox asked for 1 vCPUs and 256 MiB)",
        createdHow(host, id));
    host.call("DELETE", "/v1/sandboxes/" + id, null);
  }

  /** Clones restored from the snapshot, as most creates are: fifty in a row leave no file, process or descriptor behind. */
  @Test
  void fiftyCreateDeleteCyclesLeaveNothingBehind() throws Exception {
    long fdsBefore = openFds();
    List<String> made = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      String id = create();
      made.add(id);
      if (i == 0) assertEquals("restored from the template snapshot", createdHow(host, id));
      TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("argv", List.of("echo", Integer.toString(i))));
      assertEquals(i + "\n", r.json().path("stdout").asText(), r.raw());
      assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
    }
    assertEquals(List.of(), made.stream().filter(id -> Files.exists(host.dir.resolve("data/sandboxes/" + id))).toList(),
        "no run directories, overlays or sockets may remain");
    assertEquals(List.of(), ProcessHandle.allProcesses()
        .filter(p -> made.stream().anyMatch(id -> p.info().commandLine().orElse("").contains("kiln-" + id))).map(ProcessHandle::pid).toList(),
        "no QEMU may remain");
    // Threads and sockets settle asynchronously; a leak grows with the cycles, noise does not.
    await().atMost(Duration.ofSeconds(10)).until(() -> openFds() <= fdsBefore + 10);
  }


  private static long openFds() throws Exception {
    try (java.util.stream.Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }
}
