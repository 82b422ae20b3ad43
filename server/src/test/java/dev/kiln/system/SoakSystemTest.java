package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * Eight clients doing random lifecycle operations on the same few sandboxes for a while (2
 * minutes unless {@code -Dkiln.soakSeconds} says otherwise), through the HTTP API: every answer
 * must be a success or a documented 4xx, and at the end everything the database lists must exist
 * and nothing it does not list may (no QEMU, disk layer, run directory or checkpoint file).
 *
 * <p>It runs beside the other classes (junit-platform.properties), on a daemon of its own (not the
 * shared field of {@link SnapshottedHostTest}, which the class running beside it may be using).
 */
@Tag("system")
@Execution(ExecutionMode.CONCURRENT)
class SoakSystemTest {
  private static final int CLIENTS = 8;
  private static final int SLOTS = 3;
  private static final Duration LENGTH = Duration.ofSeconds(Long.getLong("kiln.soakSeconds", 120));
  /** The answers a client of the API is told to expect when others act on the same sandbox. */
  private static final Set<String> DOCUMENTED_4XX = Set.of("404 SANDBOX_NOT_FOUND", "404 SANDBOX_DELETED", "409 ILLEGAL_TRANSITION",
      "409 SANDBOX_NOT_RUNNING", "409 CHECKPOINT_EXISTS", "404 CHECKPOINT_NOT_FOUND");

  private static TestHost host;
  private final AtomicReferenceArray<String> slots = new AtomicReferenceArray<>(SLOTS);
  /** Every sandbox a create or fork answered, so the end can check that none outlives its delete. */
  private final Set<String> everMade = ConcurrentHashMap.newKeySet();
  private final Map<String, Integer> tally = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<String> undocumented = new ConcurrentLinkedQueue<>();

  private enum Op { CREATE, EXEC, PAUSE, RESUME, CHECKPOINT, RESTORE, FORK, STOP, START, DELETE }

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.startWithSnapshots();
    host.awaitTemplateSnapshot();
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void everyAnswerIsASuccessOrADocumented4xxAndNothingIsLeftBehind() throws Exception {
    long end = System.nanoTime() + LENGTH.toNanos();
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      long seed = 0x5eed + c;
      clients.add(Thread.ofPlatform().name("soak-" + c).start(() -> client(new SplittableRandom(seed), end)));
    }
    for (Thread t : clients) t.join();
    System.out.println("soak answers by operation and status: " + new TreeMap<>(tally));
    assertTrue(undocumented.isEmpty(), () -> undocumented.size() + " answers were neither a success nor a documented 4xx, e.g.:\n"
        + String.join("\n", undocumented.stream().limit(10).toList()));

    everyListedSandboxIsWhatItsStateSays();
    for (JsonNode s : host.call("GET", "/v1/sandboxes", null).json().path("sandboxes")) {
      assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + s.path("id").asText(), null).status());
    }
    nothingOutlivesItsSandbox();
  }

  private void client(SplittableRandom random, long end) {
    Op[] ops = Op.values();
    while (System.nanoTime() < end) {
      int slot = random.nextInt(SLOTS);
      String id = slots.get(slot);
      Op op = id == null ? Op.CREATE : ops[random.nextInt(ops.length)];
      try {
        act(op, slot, id, random);
      } catch (Exception e) {
        undocumented.add(op + " " + id + ": the client failed: " + e);
      }
    }
  }

  private void act(Op op, int slot, String id, SplittableRandom random) throws Exception {
    String cp = "c" + random.nextInt(2);
    TestHost.Reply r = switch (op) {
      case CREATE -> host.call("POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE)); // the default size: restored from the template snapshot
      case EXEC -> host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "echo soak", "timeoutSeconds", 60));
      case PAUSE, RESUME, STOP, START -> host.call("POST", "/v1/sandboxes/" + id + "/" + op.name().toLowerCase(), null);
      case CHECKPOINT -> host.call("POST", "/v1/sandboxes/" + id + "/checkpoints", Map.of("name", cp));
      case RESTORE -> host.call("POST", "/v1/sandboxes/" + id + "/checkpoints/" + cp + "/restore", null);
      case FORK -> host.call("POST", "/v1/sandboxes/" + id + "/fork", random.nextBoolean() ? Map.of("count", 1) : Map.of("count", 1, "checkpoint", cp));
      case DELETE -> host.call("DELETE", "/v1/sandboxes/" + id, null);
    };
    String code = r.json().path("error").path("code").asText("");
    tally.merge(op + " " + r.status() + (code.isEmpty() ? "" : " " + code), 1, Integer::sum);
    if (r.status() >= 300 && !DOCUMENTED_4XX.contains(r.status() + " " + code)) {
      undocumented.add(op + " " + id + " -> " + r.status() + " " + r.raw());
      return;
    }
    if (r.status() >= 300) return;
    switch (op) {
      case CREATE -> {
        String made = r.json().path("id").asText();
        everMade.add(made);
        if (!slots.compareAndSet(slot, null, made)) host.call("DELETE", "/v1/sandboxes/" + made, null);
      }
      case FORK -> {
        for (JsonNode f : r.json().path("sandboxes")) {
          everMade.add(f.path("id").asText());
          // The fork is a sandbox like any other; the next client may find it in a free slot.
          if (!slots.compareAndSet(random.nextInt(SLOTS), null, f.path("id").asText())) host.call("DELETE", "/v1/sandboxes/" + f.path("id").asText(), null);
        }
      }
      case EXEC -> assertEquals("soak\n", r.json().path("stdout").asText(), "exec output");
      case DELETE -> slots.compareAndSet(slot, id, null);
      default -> { }
    }
  }

  /** Every sandbox the API lists is what its state says: a running one answers an exec, a paused one has its saved state. */
  private void everyListedSandboxIsWhatItsStateSays() throws Exception {
    for (JsonNode s : host.call("GET", "/v1/sandboxes", null).json().path("sandboxes")) {
      String id = s.path("id").asText();
      switch (s.path("status").asText()) {
        case "running" -> assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "true")).status(), id);
        case "paused" -> assertTrue(Files.exists(host.dir.resolve("data/sandboxes").resolve(id).resolve("paused.state")), id + " has no saved state");
        case "stopped", "error" -> { }
        default -> throw new AssertionError(id + " is " + s.path("status").asText() + " after every client stopped");
      }
    }
  }

  private void nothingOutlivesItsSandbox() throws Exception {
    Path data = host.dir.resolve("data");
    assertEquals(0, host.call("GET", "/v1/sandboxes", null).json().path("sandboxes").size());
    List<String> qemus = ProcessHandle.allProcesses().map(p -> p.info().commandLine().orElse(""))
        .filter(c -> c.contains("qemu-system") && everMade.stream().anyMatch(id -> c.contains("kiln-" + id))).toList();
    assertEquals(List.of(), qemus, "QEMU processes of deleted sandboxes");
    assertEquals(List.of(), entries(data.resolve("sandboxes")), "run directories without a sandbox");
    assertEquals(List.of(), entries(data.resolve("disks")), "disk layers without a sandbox or checkpoint");
    assertEquals(List.of(), entries(data.resolve("checkpoints")), "checkpoint files without a sandbox");
  }

  private static List<String> entries(Path dir) throws Exception {
    if (!Files.isDirectory(dir)) return List.of();
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
