package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.bench.ThrowawayPostgres;
import dev.kiln.config.ClusterConfig;
import dev.kiln.config.DatabaseConfig;
import dev.kiln.config.KilnConfig;
import dev.kiln.config.NetworkConfig;
import dev.kiln.daemon.ControlDaemon;
import dev.kiln.daemon.KilnDaemon;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.TemplateSource;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A cluster's database goes away and comes back (a real PostgreSQL server stopped and started on
 * the same port): the node keeps its running VM through the outage, reports again when the
 * database is back, and the sandbox is there with its files, through the control instance.
 */
@Tag("system")
class DatabaseOutageSystemTest {
  private static final String KEY = "outage-key";
  private static final Duration HEARTBEAT = Duration.ofSeconds(1);
  private static final Duration DOWN_AFTER = Duration.ofSeconds(3);
  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void aNodeKeepsItsVmsWhileTheDatabaseIsAwayAndReportsAgainWhenItIsBack() throws Exception {
    Optional<String> why = ThrowawayPostgres.unavailableReason();
    assumeTrue(why.isEmpty(), () -> "needs a PostgreSQL server: " + why.orElse(""));
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "kdo", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
    try (ThrowawayPostgres pg = ThrowawayPostgres.start(dir)) {
      DatabaseConfig db = new DatabaseConfig(pg.url("postgres"), ThrowawayPostgres.USER, null, 2);
      KilnConfig common = KilnConfig.defaults().withListen("127.0.0.1:0").withGuestArtifacts(TestHost.ARTIFACTS).withTemplateSnapshots(false)
          .withNetwork(NetworkConfig.disabled()).withDatabase(db);
      ClusterConfig cluster = new ClusterConfig(ClusterConfig.Role.NODE, "outage-node", null, (int) HEARTBEAT.toSeconds(), (int) DOWN_AFTER.toSeconds(), null);
      try (KilnDaemon node = new KilnDaemon(common.withDataDir(dir.resolve("node")).withCluster(cluster), Optional.empty())) {
        node.start();
        try (ControlDaemon control = new ControlDaemon(common.withDataDir(dir.resolve("control")).withCluster(cluster.withRole(ClusterConfig.Role.CONTROL)),
            Optional.of(KEY))) {
          control.start();
          BusyboxRootfs.create(dir.resolve("rootfs"));
          node.templates().build("busybox", new TemplateSource.Directory(dir.resolve("rootfs")), 16, Optional.empty());
          String base = "http://127.0.0.1:" + control.port();
          TestHost.Reply created = call(base, "POST", "/v1/sandboxes", Map.of("template", "busybox", "memoryMib", 128, "timeoutSeconds", 0));
          assertEquals(201, created.status(), created.raw());
          String id = created.json().path("id").asText();
          String nodeId = created.json().path("node").asText();
          assertEquals(200, call(base, "POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "echo before > /root/f")).status());

          pg.stop();
          await().atMost(Duration.ofSeconds(30)).until(() -> call(base, "GET", "/v1/sandboxes/" + id, null).status() >= 500);
          // An outage longer than the node's down-after time: its VM runs through it.
          await().pollDelay(DOWN_AFTER.multipliedBy(2)).atMost(Duration.ofSeconds(30)).until(() -> vmAlive(id));

          pg.restart();
          await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() -> {
            JsonNode n = call(base, "GET", "/v1/nodes/" + nodeId, null).json();
            JsonNode s = call(base, "GET", "/v1/sandboxes/" + id, null).json();
            return "up".equals(n.path("state").asText()) && "running".equals(s.path("status").asText());
          });
          TestHost.Reply read = call(base, "POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "cat /root/f"));
          assertEquals(200, read.status(), read.raw());
          assertEquals("before\n", read.json().path("stdout").asText());
          assertTrue(vmAlive(id));
        } finally {
          node.sandboxes().deleteAll();
        }
      }
    } finally {
      AtomicFiles.deleteTree(dir);
    }
  }

  private static boolean vmAlive(String sandboxId) {
    return ProcessHandle.allProcesses().anyMatch(p -> p.info().commandLine().orElse("").contains("qemu-system") && p.info().commandLine().orElse("")
        .contains(sandboxId));
  }

  private TestHost.Reply call(String base, String method, String path, Object body) throws Exception {
    return TestHost.call(http, base, KEY, method, path, body, Optional.of(Duration.ofMinutes(2)));
  }
}
