package dev.kiln.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.config.DatabaseConfig;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.GuestArtifacts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The bench's cluster lines as `kiln bench` runs them: a node and a control instance in this
 * process on a PostgreSQL server the bench starts itself, real VMs, one round; and the one line
 * that says why they are skipped when the database named cannot be reached.
 */
@Tag("system")
class ClusterBenchSystemTest {
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  private Path work;

  @BeforeEach
  void dirs() throws Exception {
    // As kiln bench makes it: short (socket paths), traversable by the VMM user and the postgres user.
    work = Files.createTempDirectory(Path.of("/tmp"), "kbc", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
    BusyboxRootfs.create(work.resolve("rootfs"));
  }

  @AfterEach
  void remove() throws Exception {
    AtomicFiles.deleteTree(work);
  }

  private ClusterBench bench() throws Exception {
    return new ClusterBench(work, work.resolve("rootfs"), GuestArtifacts.load(REPO.resolve("build/guest/current")), 1, "bench-key", BenchReport.text());
  }

  private static boolean line(String out, String name, String unit) {
    return Pattern.compile(Pattern.quote(name) + "\\s+median\\s+[0-9.]+ " + unit + "\\s+\\(n=\\d+,").matcher(out).find();
  }

  @Test
  void measuresCreateExecResumeAndMigrationThroughAControlInstanceAndDirectlyOnTheNode() throws Exception {
    Optional<String> why = ThrowawayPostgres.unavailableReason();
    assumeTrue(why.isEmpty(), () -> "the cluster lines need a PostgreSQL server: " + why.orElse(""));
    String out = Printed.by(() -> bench().run(Optional.empty()));
    assertTrue(line(out, "create to first exec answered, from snapshot, directly on the node", "ms"), out);
    assertTrue(line(out, "create to first exec answered, from snapshot, through a control instance", "ms"), out);
    assertTrue(line(out, "exec `true` round trip, directly on the node", "ms"), out);
    assertTrue(line(out, "exec `true` round trip, through a control instance", "ms"), out);
    assertTrue(Pattern.compile("ratios: through a control instance/directly on the node: create [0-9.]+ \\([+-][0-9]+ ms\\), exec [0-9.]+ \\([+-][0-9.]+ ms\\)")
        .matcher(out).find(), out);
    assertTrue(line(out, "resume to first exec answered, on the node it paused on", "ms"), out);
    assertTrue(line(out, "resume to first exec answered, on another node (its own down; state from the bucket)", "ms"), out);
    assertTrue(Pattern.compile("ratios: cross-node resume/same-node resume [0-9.]+ \\([+-][0-9]+ ms\\)").matcher(out).find(), out);
    for (String what : List.of("idle", "dirtying RAM")) {
      for (String who : List.of("live migration, " + what + ", 256 MiB sandbox, through a control instance", "raw QEMU-to-QEMU migration, " + what + ", 256 MiB VM")) {
        assertTrue(line(out, who + ": whole move", "ms"), out);
        assertTrue(line(out, who + ": guest downtime", "ms"), out);
        assertTrue(line(out, who + ": sent", "MiB"), out);
      }
      assertTrue(Pattern.compile("ratios: live migration " + what + "/raw floor: whole move [0-9.]+ \\([+-][0-9]+ ms\\), downtime [0-9.]+ \\([+-][0-9]+ ms\\), sent [0-9.]+")
          .matcher(out).find(), out);
    }
    assertFalse(out.contains("cluster lines skipped"), out);
    // Nothing outlives the lines: no VM of the node, no PostgreSQL server or its directory.
    assertEquals(List.of(), ProcessHandle.allProcesses().map(p -> p.info().commandLine().orElse(""))
        .filter(c -> c.contains("qemu-system") && c.contains(work.toString()) || c.contains("postgres") && c.contains(work.toString())).toList());
    try (var left = Files.list(work)) {
      assertEquals(List.of(), left.filter(p -> p.getFileName().toString().startsWith("kiln-pg-")).toList(), "the throwaway server's directory is removed");
    }
  }

  @Test
  void aDatabaseThatCannotBeReachedSkipsTheLinesWithTheReason() throws Exception {
    // Nothing listens on port 1 of loopback: the connection is refused at once.
    String out = Printed.by(() -> bench().run(Optional.of(new DatabaseConfig("jdbc:postgresql://127.0.0.1:1/kiln", "kiln", null, 0))));
    List<String> lines = out.lines().toList();
    assertEquals(1, lines.stream().filter(l -> l.startsWith("cluster lines skipped: ")).count(), out);
    assertTrue(out.contains("cluster lines skipped: --cluster-database jdbc:postgresql://127.0.0.1:1/kiln: ") && out.contains("refused"), out);
    assertFalse(out.contains("median"), out);
  }
}
