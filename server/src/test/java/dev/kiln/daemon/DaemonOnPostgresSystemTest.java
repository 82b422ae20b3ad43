package dev.kiln.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.config.DatabaseConfig;
import dev.kiln.config.KilnConfig;
import dev.kiln.config.NetworkConfig;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.TemplateSource;
import dev.kiln.store.PostgresServer;
import dev.kiln.store.PostgresTarget;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole daemon whose `database` key names a real PostgreSQL server: it migrates it, serves the
 * API from it, and a second daemon with another data directory finds the first one's template
 * there. No VM is started (template snapshots and networking are off); tagged system because the
 * daemon needs the guest artifacts of build/.
 */
@Tag("system")
class DaemonOnPostgresSystemTest {
  private static final Path ARTIFACTS = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize().resolve("build/guest/current");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KEY = "pg-daemon-test-key";
  private final HttpClient http = HttpClient.newHttpClient();
  @TempDir Path dir;

  private KilnConfig config(Path data, DatabaseConfig database) throws Exception {
    // o+x: the daemon checks that QEMU's unprivileged user could reach its data directory.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    return KilnConfig.defaults().withDataDir(data).withListen("127.0.0.1:0").withGuestArtifacts(ARTIFACTS).withTemplateSnapshots(false)
        .withNetwork(NetworkConfig.disabled()).withDatabase(database);
  }

  private JsonNode get(KilnDaemon d, String path) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + path)).header("Authorization", "Bearer " + KEY)
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return JSON.readTree(r.body());
  }

  @Test
  void twoDaemonsOnOneDatabaseShareItsStateOneAfterTheOther() throws Exception {
    PostgresTarget target = PostgresServer.shared().newDatabase();
    DatabaseConfig database = new DatabaseConfig(target.url(), target.user(), null, 2);
    KilnDaemon first = new KilnDaemon(config(dir.resolve("a"), database), Optional.of(KEY));
    try {
      first.start();
      assertEquals("{\"templates\":[]}", get(first, "/v1/templates").toString());
      assertEquals("{\"sandboxes\":[]}", get(first, "/v1/sandboxes").toString());
      BusyboxRootfs.create(dir.resolve("rootfs"));
      first.templates().build("busybox", new TemplateSource.Directory(dir.resolve("rootfs")), 16, Optional.empty());
      // While the first runs, a second combined daemon would take its sandboxes for a crash's leftovers.
      DaemonStartException busy = assertThrows(DaemonStartException.class, () -> new KilnDaemon(config(dir.resolve("b"), database), Optional.of(KEY)));
      assertTrue(busy.getMessage().startsWith("the database " + target.url() + " is in use by node "), busy.getMessage());
      assertTrue(busy.getMessage().contains("give this one a database of its own (the `database` config key)"), busy.getMessage());
    } finally {
      first.close();
    }
    KilnDaemon second = new KilnDaemon(config(dir.resolve("b"), database), Optional.of(KEY));
    try {
      second.start();
      JsonNode templates = get(second, "/v1/templates").path("templates");
      assertEquals(List.of("busybox ready"), List.of(templates.get(0).path("name").asText() + " " + templates.get(0).path("status").asText()),
          "the second daemon reads the template the first one stored: " + templates);
    } finally {
      second.close();
    }
  }

  @Test
  void aDatabaseThatIsNotThereStopsTheStartWithOneLineNamingIt() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    String url = "jdbc:postgresql://127.0.0.1:" + closed + "/kiln";
    DaemonStartException e = assertThrows(DaemonStartException.class, () -> new KilnDaemon(config(dir.resolve("c"), new DatabaseConfig(url, "kiln", null, 2)),
        Optional.of(KEY)));
    assertTrue(e.getMessage().startsWith("cannot connect to PostgreSQL at " + url + " as user kiln: Connection to 127.0.0.1:" + closed + " refused"), e.getMessage());
    assertTrue(e.getMessage().endsWith("; check the `database` config key (url, user, passwordFile)"), e.getMessage());
    assertEquals(1, e.getMessage().lines().count());
  }
}
