package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Checkpoints, restore in place and fork, on real VMs restored from the template snapshot. */
@Tag("system")
class CheckpointSystemTest extends SnapshottedHostTest {
  /** The daemon's default size: sandboxes restored from the template snapshot, their RAM a private map of its file. */
  private static final Map<String, Object> FROM_SNAPSHOT = Map.of("template", TestHost.TEMPLATE);

  private static String out(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command, "timeoutSeconds", 120));
    assertEquals(200, r.status(), r.raw());
    assertEquals(0, r.json().path("exitCode").asInt(-1), r.raw());
    return r.json().path("stdout").asText();
  }

  private static TestHost.Reply checkpoint(String id, String name) throws Exception {
    return host.call("POST", "/v1/sandboxes/" + id + "/checkpoints", Map.of("name", name));
  }

  private static List<String> fork(String id, Map<String, Object> body) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/fork", body);
    assertEquals(201, r.status(), r.raw());
    List<String> ids = new ArrayList<>();
    r.json().path("sandboxes").forEach(s -> ids.add(s.path("id").asText()));
    return ids;
  }

  private static void delete(String id) throws Exception {
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
  }

  @Test
  void restoreInPlaceRevertsLaterChanges() throws Exception {
    String id = host.createSandbox(FROM_SNAPSHOT);
    out(id, "echo one > /root/marker");
    assertEquals(201, checkpoint(id, "first").status());
    out(id, "echo two > /root/marker; touch /root/later");
    assertEquals(409, checkpoint(id, "first").status(), "names are unique per sandbox");
    assertEquals("CHECKPOINT_EXISTS", checkpoint(id, "first").json().path("error").path("code").asText());
    assertEquals(400, checkpoint(id, "../escape").status());

    TestHost.Reply restored = host.call("POST", "/v1/sandboxes/" + id + "/checkpoints/first/restore", null);
    assertEquals(200, restored.status(), restored.raw());
    assertEquals("running", restored.json().path("status").asText());
    assertEquals("one\n", out(id, "cat /root/marker"));
    assertEquals("gone\n", out(id, "test -e /root/later || echo gone"));
    // The checkpoint stays usable: change again and restore again.
    out(id, "echo three > /root/marker");
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/checkpoints/first/restore", null).status());
    assertEquals("one\n", out(id, "cat /root/marker"));

    JsonNode list = host.call("GET", "/v1/sandboxes/" + id + "/checkpoints", null).json().path("checkpoints");
    assertEquals(1, list.size());
    assertEquals("first", list.get(0).path("name").asText());
    assertEquals(404, host.call("POST", "/v1/sandboxes/" + id + "/checkpoints/nope/restore", null).status());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id + "/checkpoints/first", null).status());
    assertEquals(404, host.call("DELETE", "/v1/sandboxes/" + id + "/checkpoints/first", null).status());
    JsonNode events = host.call("GET", "/v1/sandboxes/" + id + "/events", null).json().path("events");
    assertTrue(events.toString().contains("\"kind\":\"restored\""), events.toString());
    delete(id);
  }

  @Test
  void forksOfACheckpointDivergeAndKeepMemoryFilesAndProcesses() throws Exception {
    String source = host.createSandbox(FROM_SNAPSHOT);
    assertEquals("snapshot", host.call("GET", "/v1/sandboxes/" + source, null).json().path("startedFrom").asText());
    out(source, "head -c 104857600 /dev/urandom > /tmp/big; echo base > /root/shared");
    String sum = out(source, "sha256sum /tmp/big");
    String pid = out(source, "sleep 1000 > /dev/null 2>&1 & echo $!").strip();
    assertEquals(201, checkpoint(source, "cp").status());

    List<String> forks = fork(source, Map.of("count", 2, "checkpoint", "cp"));
    assertEquals(2, forks.size());
    String a = forks.get(0);
    String b = forks.get(1);
    for (String f : forks) {
      assertEquals(sum, out(f, "sha256sum /tmp/big"), "a 100 MiB tmpfs file is in every fork");
      assertEquals("alive\n", out(f, "kill -0 " + pid + " && echo alive"), "the sleep runs on in the fork with its pid");
      assertEquals("base\n", out(f, "cat /root/shared"));
    }
    out(a, "echo a > /root/shared; echo a > /root/only-a");
    out(b, "echo b > /root/shared");
    out(source, "echo source > /root/shared");
    assertEquals("a\n", out(a, "cat /root/shared"));
    assertEquals("b\n", out(b, "cat /root/shared"));
    assertEquals("source\n", out(source, "cat /root/shared"));
    assertEquals("absent\n", out(b, "test -e /root/only-a || echo absent"), "a fork's writes are its own");
    assertEquals("absent\n", out(source, "test -e /root/only-a || echo absent"));
    String randomA = out(a, "head -c 32 /dev/urandom | od -An -tx1");
    String randomB = out(b, "head -c 32 /dev/urandom | od -An -tx1");
    assertNotEquals(randomA, randomB, "forks of one checkpoint draw different random bytes");

    // The forks' disks rest on the source's frozen layer: deleting the source must not break them.
    delete(source);
    out(a, "sync; echo 3 > /proc/sys/vm/drop_caches");
    assertEquals("a\n", out(a, "cat /root/shared"));
    delete(a);
    delete(b);
    assertNoDiskLayersLeft();
  }

  @Test
  void forkOfALiveSandboxPausesItBriefly() throws Exception {
    // 320 MiB: no snapshot of that size, so this sandbox boots, and its forks restore RAM from the stream alone.
    String source = host.createSandbox(Map.of("template", TestHost.TEMPLATE, "memoryMib", 320));
    out(source, "echo live > /root/state");
    List<String> forks = fork(source, Map.of("count", 1));
    assertEquals("live\n", out(forks.getFirst(), "cat /root/state"));
    assertEquals("running", host.call("GET", "/v1/sandboxes/" + source, null).json().path("status").asText());
    assertEquals(0, host.call("GET", "/v1/sandboxes/" + source + "/checkpoints", null).json().path("checkpoints").size(),
        "the live state a fork starts from is not kept as a checkpoint");
    assertEquals(400, host.call("POST", "/v1/sandboxes/" + source + "/fork", Map.of("count", 0)).status());
    assertEquals(400, host.call("POST", "/v1/sandboxes/" + source + "/fork", Map.of("count", 1000)).status());
    assertEquals(404, host.call("POST", "/v1/sandboxes/" + source + "/fork", Map.of("checkpoint", "none")).status());
    delete(forks.getFirst());
    delete(source);
  }

  @Test
  void aCorruptCheckpointIsDetectedAndTheSandboxBootsFromItsDisk() throws Exception {
    String id = host.createSandbox();
    out(id, "echo saved > /root/marker; sync");
    TestHost.Reply cp = checkpoint(id, "c");
    assertEquals(201, cp.status(), cp.raw());
    Path state = host.dir.resolve("data/checkpoints").resolve(id).resolve(cp.json().path("id").asText()).resolve("state");
    try (RandomAccessFile f = new RandomAccessFile(state.toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0xff);
    }
    TestHost.Reply restored = host.call("POST", "/v1/sandboxes/" + id + "/checkpoints/c/restore", null);
    assertEquals(200, restored.status(), restored.raw());
    assertEquals("boot", restored.json().path("startedFrom").asText());
    assertEquals("saved\n", out(id, "cat /root/marker"), "the checkpoint's disk is what it booted from");
    JsonNode events = host.call("GET", "/v1/sandboxes/" + id + "/events", null).json().path("events");
    assertTrue(events.toString().contains("does not match its checksum"), events.toString());
    delete(id);
  }

  @Test
  void aCheckpointThatCannotBeSavedLeavesTheSandboxRunning() throws Exception {
    String id = host.createSandbox();
    out(id, "echo still > /root/here");
    // A real fault: a file where the sandbox's checkpoint directory must go.
    Path blocker = host.dir.resolve("data/checkpoints").resolve(id);
    Files.createDirectories(blocker.getParent());
    Files.writeString(blocker, "not a directory");
    TestHost.Reply failed = checkpoint(id, "x");
    assertEquals(503, failed.status(), failed.raw());
    assertEquals("SNAPSHOT_FAILED", failed.json().path("error").path("code").asText());
    assertTrue(failed.json().path("error").path("message").asText().contains("it runs on"), failed.raw());
    assertEquals("running", host.call("GET", "/v1/sandboxes/" + id, null).json().path("status").asText());
    assertEquals("still\n", out(id, "cat /root/here"));
    out(id, "echo after > /root/after");
    assertEquals("after\n", out(id, "cat /root/after"), "the sandbox writes on, to its new top disk layer");
    assertEquals(0, host.call("GET", "/v1/sandboxes/" + id + "/checkpoints", null).json().path("checkpoints").size());
    Files.delete(blocker);
    delete(id);
  }

  private static void assertNoDiskLayersLeft() throws Exception {
    // Other tests' sandboxes may still run in this host; only those of deleted sandboxes must be gone.
    JsonNode all = host.call("GET", "/v1/sandboxes", null).json().path("sandboxes");
    if (all.size() > 0) return;
    try (Stream<Path> layers = Files.list(host.dir.resolve("data/disks"))) {
      assertEquals(List.of(), layers.toList(), "every disk layer is collected once no sandbox or checkpoint uses it");
    }
  }
}
