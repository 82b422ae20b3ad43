package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.host.CommandRunner;
import dev.kiln.vmm.DiskParents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Attacks on the isolation between sandboxes, as a guest that took over its QEMU would make them:
 * by trying, as that QEMU's uid, to open another sandbox's files, and by rewriting the backing
 * name in its own top layer's header.
 */
@Tag("system")
class IsolationSystemTest extends SnapshottedHostTest {
  private static Path runDir(String id) {
    return host.dir.resolve("data/sandboxes").resolve(id);
  }

  private static int uidOf(Path p) throws Exception {
    return (Integer) Files.getAttribute(p, "unix:uid");
  }

  /** A VM's uid: its run directory's group (the directory itself is root's). */
  private static int vmUid(String id) throws Exception {
    return (Integer) Files.getAttribute(runDir(id), "unix:gid");
  }

  private static long qemuPid(String id) throws Exception {
    return Long.parseLong(Files.readString(runDir(id).resolve("qemu.pid")).strip());
  }

  /** The sandbox's top layer: the one file among the layers its VM's uid owns. */
  private static Path topLayer(String id) throws Exception {
    int uid = vmUid(id);
    try (var layers = Files.list(host.dir.resolve("data/disks"))) {
      List<Path> own = layers.filter(p -> p.toString().endsWith(".qcow2")).filter(p -> {
        try {
          return uidOf(p) == uid;
        } catch (Exception e) {
          return false;
        }
      }).toList();
      assertEquals(1, own.size(), "one top layer of " + id + " owned by uid " + uid + ": " + own);
      return own.getFirst();
    }
  }

  private static String exec(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command));
    assertEquals(200, r.status(), r.raw());
    return r.json().path("stdout").asText().strip();
  }

  private static CommandRunner.Result asUid(int uid, String... command) {
    int group = dev.kiln.vmm.QemuBackend.groupIfPresent("kiln-vmm").orElseThrow();
    List<String> argv = new ArrayList<>(List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--groups=" + group, "--no-new-privs"));
    argv.addAll(List.of(command));
    return CommandRunner.runAllowingFailure(argv, Duration.ofSeconds(10));
  }

  private static void assertDenied(int uid, Path file) {
    CommandRunner.Result r = asUid(uid, "cat", file.toString());
    assertNotEquals(0, r.exitCode(), "uid " + uid + " read " + file);
    assertTrue(r.stderr().contains("Permission denied"), file + ": " + r.stderr());
  }

  private static Path checkpointedLayer(String id) throws Exception {
    TestHost.Reply c = host.call("POST", "/v1/sandboxes/" + id + "/checkpoints", Map.of("name", "c1"));
    assertEquals(201, c.status(), c.raw());
    Path frozen = DiskParents.below(topLayer(id)).getFirst();
    assertTrue(frozen.startsWith(host.dir.resolve("data/disks")), "the checkpoint froze the sandbox's own layer: " + frozen);
    return frozen;
  }

  @Test
  void aVmsUidCanOpenNothingOfAnotherSandbox() throws Exception {
    String a = host.createSandbox();
    String b = host.createSandbox();
    exec(b, "echo b-secret > /root/b && sync");
    Path bFrozen = checkpointedLayer(b);
    int uidA = vmUid(a);
    int uidB = vmUid(b);
    assertNotEquals(uidA, uidB, "each VM has a uid of its own");
    assertTrue(uidA >= 3_000_000 && uidB >= 3_000_000, "from the configured range: " + uidA + ", " + uidB);
    assertEquals(String.valueOf(uidA), CommandRunner.run(List.of("ps", "-o", "uid=", "-p", Long.toString(qemuPid(a))), Duration.ofSeconds(5)).stdout().strip());

    // The attack can succeed where it should: A's uid reads A's own top layer.
    CommandRunner.Result own = asUid(uidA, "head", "-c", "3", topLayer(a).toString());
    assertEquals(0, own.exitCode(), own.stderr());
    assertEquals("QFI", own.stdout());

    List<Path> bs = new ArrayList<>(List.of(topLayer(b), bFrozen, runDir(b), Path.of("/proc", Long.toString(qemuPid(b)), "environ")));
    for (String f : List.of("qmp.sock", "agent.sock", "tty.sock", "console.log", "qemu.pid", "qemu.log")) bs.add(runDir(b).resolve(f));
    for (Path f : bs) assertDenied(uidA, f);
    CommandRunner.Result ls = asUid(uidA, "ls", runDir(b).toString());
    assertNotEquals(0, ls.exitCode(), "B's run directory is B's alone: " + ls.stdout());
    // Nor its own frozen layer, which forks and checkpoints of others may be built on: only the daemon opens those.
    Path aFrozen = checkpointedLayer(a);
    assertDenied(uidA, aFrozen);
    assertEquals("b-secret", exec(b, "cat /root/b"));
  }

  @Test
  void aBackingNameRewrittenInsideATopLayerIsNotFollowedOnTheNextRestore() throws Exception {
    String victim = host.createSandbox();
    exec(victim, "echo victim-secret > /root/secret && sync");
    Path victimLayer = checkpointedLayer(victim);
    String attacker = host.createSandbox();
    exec(attacker, "echo mine > /root/mine && sync");
    TestHost.Reply paused = host.call("POST", "/v1/sandboxes/" + attacker + "/pause", null);
    assertEquals(200, paused.status(), paused.raw());
    Path top = topLayer(attacker);
    Path realParent = DiskParents.below(top).getFirst();

    // What a QEMU taken over by its guest can do to the one layer it may write: name another sandbox's layer as its backing file.
    CommandRunner.run(List.of("qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b", victimLayer.toString(), top.toString()), Duration.ofSeconds(30));
    assertTrue(CommandRunner.run(List.of("qemu-img", "info", "-U", top.toString()), Duration.ofSeconds(30)).stdout().contains(victimLayer.toString()));

    TestHost.Reply resumed = host.call("POST", "/v1/sandboxes/" + attacker + "/resume", null);
    assertEquals(200, resumed.status(), resumed.raw());
    List<String> open = new ArrayList<>();
    try (var fds = Files.list(Path.of("/proc", Long.toString(qemuPid(attacker)), "fd"))) {
      for (Path fd : fds.toList()) {
        try {
          open.add(Files.readSymbolicLink(fd).toString());
        } catch (java.io.IOException e) {
          // closed while listed
        }
      }
    }
    assertFalse(open.contains(victimLayer.toString()), "the attacker's QEMU holds the victim's layer: " + open);
    assertTrue(open.contains(realParent.toString()), "it holds the layer its record names: " + open);
    assertEquals("mine", exec(attacker, "cat /root/mine"));
    assertEquals("absent", exec(attacker, "cat /root/secret 2>/dev/null || echo absent"));
  }

  @Test
  void linksAVmPlantsInItsRunDirectoryTurnNoDaemonWriteOrReadAgainstTheHost() throws Exception {
    String id = host.createSandbox();
    int uid = vmUid(id);
    Path canary = Files.writeString(host.dir.resolve("canary-" + id), "host file");
    // Where the daemon writes a paused state, and reads the console from: links to a host file.
    for (String name : List.of("paused.state.tmp", "paused.state", "console.log.planted")) {
      CommandRunner.Result ln = asUid(uid, "ln", "-s", canary.toString(), runDir(id).resolve(name).toString());
      assertEquals(0, ln.exitCode(), "the VM's uid may make links in its run directory: " + ln.stderr());
    }
    // The console log is the daemon's, which the sticky directory keeps QEMU from replacing; and the daemon reads it through no link.
    CommandRunner.Result swap = asUid(uid, "mv", runDir(id).resolve("console.log.planted").toString(), runDir(id).resolve("console.log").toString());
    assertNotEquals(0, swap.exitCode(), "QEMU's uid replaced the daemon's console log");
    CommandRunner.Result older = asUid(uid, "mv", runDir(id).resolve("console.log.planted").toString(), runDir(id).resolve("console.log.1").toString());
    assertNotEquals(0, older.exitCode(), "the console's older half is the daemon's from the start, too");
    TestHost.Reply console = host.call("GET", "/v1/sandboxes/" + id + "/console", null);
    assertFalse(console.raw().contains("host file"), "the console route read the host file through the link: " + console.raw());
    // QEMU's own log is the daemon's file, which the sticky directory keeps it from replacing.
    assertEquals(0, uidOf(runDir(id).resolve("qemu.log")));
    CommandRunner.Result replace = asUid(uid, "ln", "-sf", canary.toString(), runDir(id).resolve("qemu.log").toString());
    assertNotEquals(0, replace.exitCode(), "QEMU's uid replaced the daemon's qemu.log");

    TestHost.Reply paused = host.call("POST", "/v1/sandboxes/" + id + "/pause", null);
    assertEquals(200, paused.status(), paused.raw());
    assertEquals("host file", Files.readString(canary), "the state went into a file of its own, not through the link");
    assertTrue(Files.isRegularFile(runDir(id).resolve("paused.state"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    TestHost.Reply resumed = host.call("POST", "/v1/sandboxes/" + id + "/resume", null);
    assertEquals(200, resumed.status(), resumed.raw());
    assertEquals("ok", exec(id, "echo ok"));
  }

  /**
   * The template's snapshot memory, which every clone maps: no VM's uid can open the file, and the
   * copy the clones map is sealed, so not even a QEMU taken over (nor root) can write into what its
   * neighbours' unwritten pages are read from.
   */
  @Test
  void noQemuCanWriteTheSnapshotMemoryItsNeighboursMap() throws Exception {
    // The snapshot's own size: both are restored from it, so both map its memory.
    String a = host.createSandbox(Map.of("template", TestHost.TEMPLATE));
    String b = host.createSandbox(Map.of("template", TestHost.TEMPLATE));
    assertTrue(host.call("GET", "/v1/sandboxes/" + a + "/events", null).raw().contains("restored from the template snapshot"));
    Path memoryFile = host.snapshotDir(false).orElseThrow().resolve("memory");
    assertEquals(List.of(0, 0400), List.of(uidOf(memoryFile), (Integer) Files.getAttribute(memoryFile, "unix:mode") & 07777));
    assertDenied(vmUid(a), memoryFile);

    // A's QEMU holds the sealed copy open: the descriptor its RAM is mapped from.
    Path mapped = null;
    try (var fds = Files.list(Path.of("/proc", Long.toString(qemuPid(a)), "fd"))) {
      for (Path fd : fds.toList()) {
        if (Files.readSymbolicLink(fd).toString().startsWith("/memfd:kiln-snapshot-memory")) mapped = fd;
      }
    }
    assertTrue(mapped != null, "A's QEMU maps its RAM from the sealed copy");
    try (java.nio.channels.FileChannel rw = java.nio.channels.FileChannel.open(mapped, java.nio.file.StandardOpenOption.WRITE)) {
      java.io.IOException refused = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
          () -> rw.write(java.nio.ByteBuffer.wrap(new byte[] {0x0f, 0x0b}), 4096));
      assertEquals("Operation not permitted", refused.getMessage());
    }
    assertEquals("still-fine", exec(b, "echo still-fine"));
  }
}
