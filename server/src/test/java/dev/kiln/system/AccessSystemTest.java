package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.TemplateSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Key roles, per-key limits and ownership, against a real daemon with real VMs: user keys made
 * through the API, each seeing only its own, refused past its limits with nothing left behind,
 * and refused at once when revoked.
 */
@Tag("system")
class AccessSystemTest extends SnapshottedHostTest {
  private static Key alice;
  private static Key bob;

  private record Key(String id, String secret) {}

  @BeforeAll
  static void keys() throws Exception {
    alice = make(Map.of("name", "alice", "maxSandboxes", 2, "maxVcpus", 2, "maxMemoryMib", 1024, "maxTemplates", 1));
    bob = make(Map.of("name", "bob"));
  }

  private static Key make(Map<String, Object> body) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/keys", body);
    assertEquals(201, r.status(), r.raw());
    assertEquals("user", r.json().path("role").asText(), "a key is a user's unless made an admin");
    return new Key(r.json().path("id").asText(), r.json().path("key").asText());
  }

  private static TestHost.Reply as(Key k, String method, String path, Object body) throws Exception {
    return host.callAs(k.secret(), method, path, body);
  }

  private static String create(Key k) throws Exception {
    TestHost.Reply r = as(k, "POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "memoryMib", 256));
    assertEquals(201, r.status(), r.raw());
    return r.json().path("id").asText();
  }

  private static List<String> ids(TestHost.Reply list) {
    List<String> out = new ArrayList<>();
    list.json().path("sandboxes").forEach(s -> out.add(s.path("id").asText()));
    return out;
  }

  private static String code(TestHost.Reply r) {
    return r.json().path("error").path("code").asText();
  }

  /** Sandboxes' run directories (one per VM, made or being made): what a create that left something behind would leave. */
  private static long runDirs() throws Exception {
    try (Stream<Path> s = Files.list(host.dataDir().resolve("sandboxes"))) {
      return s.filter(Files::isDirectory).count();
    }
  }

  @Test
  void aKeySeesAndReachesOnlyItsOwnSandboxesAndAnotherKeysAreUnknownToIt() throws Exception {
    String mine = create(bob);
    String admins = host.createSandbox();
    assertEquals(List.of(mine), ids(as(bob, "GET", "/v1/sandboxes", null)), "bob lists only his own");
    assertTrue(ids(host.call("GET", "/v1/sandboxes", null)).containsAll(List.of(mine, admins)), "an admin lists everyone's");

    String unknown = "sb-aaaaaaaaaaaaaaaa";
    TestHost.Reply none = as(bob, "GET", "/v1/sandboxes/" + unknown, null);
    TestHost.Reply others = as(bob, "GET", "/v1/sandboxes/" + admins, null);
    assertEquals(404, others.status(), others.raw());
    assertEquals(none.raw().replace(unknown, admins), others.raw(), "another key's sandbox is answered word for word as one that does not exist");
    for (String[] route : new String[][] {{"POST", "/exec"}, {"GET", "/files?path=/etc/hostname"}, {"POST", "/pause"}, {"GET", "/events"},
        {"GET", "/console"}, {"DELETE", ""}}) {
      Object body = route[0].equals("POST") ? Map.of("command", "echo reached") : null;
      TestHost.Reply r = as(bob, route[0], "/v1/sandboxes/" + admins + route[1], body);
      assertEquals(404, r.status(), route[0] + " " + route[1] + ": " + r.raw());
      assertEquals("SANDBOX_NOT_FOUND", code(r));
    }
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + admins + "/exec", Map.of("command", "true")).status(), "and it runs on untouched");
    assertEquals(200, host.call("GET", "/v1/sandboxes/" + mine, null).status(), "an admin reaches a user's sandbox");
    assertEquals(204, as(bob, "DELETE", "/v1/sandboxes/" + mine, null).status());
    assertEquals(404, as(alice, "GET", "/v1/sandboxes/" + mine, null).status(), "nor does a deleted sandbox's tombstone tell another key anything");
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + admins, null).status());
  }

  private static long layers() throws Exception {
    try (Stream<Path> s = Files.list(host.dataDir().resolve("disks"))) {
      return s.count();
    }
  }

  @Test
  void aCreatePastTheKeysLimitIs429AndLeavesNothing() throws Exception {
    String first = create(alice);
    String second = create(alice);
    long dirs = runDirs();
    long files = layers();
    TestHost.Reply third = as(alice, "POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "memoryMib", 256));
    assertEquals(429, third.status(), third.raw());
    assertEquals("QUOTA_EXCEEDED", code(third));
    assertTrue(third.json().path("error").path("message").asText().contains("limit of 2 sandboxes"), third.raw());
    TestHost.Reply fork = as(alice, "POST", "/v1/sandboxes/" + first + "/fork", Map.of("count", 1));
    assertEquals(429, fork.status(), "a fork counts like a create: " + fork.raw());
    assertEquals(List.of(first, second), ids(as(alice, "GET", "/v1/sandboxes", null)));
    assertEquals(dirs, runDirs(), "the refused create and fork made no VM");
    assertEquals(files, layers(), "nor a disk layer");

    // A paused sandbox keeps its place (its resume cannot fail on the limit); a deleted one frees it.
    assertEquals(200, as(alice, "POST", "/v1/sandboxes/" + second + "/pause", null).status());
    assertEquals(429, as(alice, "POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "memoryMib", 256)).status());
    assertEquals(200, as(alice, "POST", "/v1/sandboxes/" + second + "/resume", null).status());
    assertEquals(204, as(alice, "DELETE", "/v1/sandboxes/" + second, null).status());
    TestHost.Reply big = as(alice, "POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "memoryMib", 1024));
    assertEquals(429, big.status(), "256 + 1024 MiB is past alice's 1024: " + big.raw());
    assertTrue(big.json().path("error").path("message").asText().contains("MiB of memory"), big.raw());
    String third2 = create(alice);
    for (String id : List.of(first, third2)) assertEquals(204, as(alice, "DELETE", "/v1/sandboxes/" + id, null).status());
  }

  @Test
  void userKeysReachNoAdminRouteAndCannotBuildFromTheHost() throws Exception {
    for (String[] route : new String[][] {{"GET", "/v1/keys"}, {"POST", "/v1/keys"}, {"GET", "/metrics"}, {"GET", "/v1/pools"},
        {"PUT", "/v1/pools/" + TestHost.TEMPLATE}, {"GET", "/v1/nodes"}, {"GET", "/v1/cluster"}, {"DELETE", "/v1/keys/" + alice.id()}}) {
      TestHost.Reply r = as(bob, route[0], route[1], route[0].equals("GET") || route[0].equals("DELETE") ? null : Map.of("name", "x"));
      assertEquals(403, r.status(), route[0] + " " + route[1] + ": " + r.raw());
      assertEquals("FORBIDDEN", code(r));
    }
    TestHost.Reply fromHost = as(bob, "POST", "/v1/templates", Map.of("name", "mine", "directory", "/etc"));
    assertEquals(403, fromHost.status(), "a directory is read from the host as root: " + fromHost.raw());
    TestHost.Reply operators = as(bob, "DELETE", "/v1/templates/" + TestHost.TEMPLATE, null);
    assertEquals(403, operators.status(), "the operator's template is everyone's to use, an admin's to change: " + operators.raw());
    assertEquals(200, as(bob, "GET", "/v1/templates/" + TestHost.TEMPLATE, null).status());
  }

  @Test
  void aUsersTemplateIsItsOwnAndCountsAgainstItsLimit() throws Exception {
    Path rootfs = host.dataDir().resolveSibling("alice-rootfs");
    BusyboxRootfs.create(rootfs);
    // Built the way a registry build of alice's would be recorded (users cannot build from the host's directories).
    host.daemon().templates().submit("alices", new TemplateSource.Directory(rootfs), 64, Optional.empty(), alice.id());
    assertEquals(200, as(alice, "GET", "/v1/templates/alices", null).status());
    TestHost.Reply other = as(bob, "GET", "/v1/templates/alices", null);
    assertEquals(404, other.status(), other.raw());
    assertEquals("TEMPLATE_NOT_FOUND", code(other));
    List<String> bobSees = new ArrayList<>();
    as(bob, "GET", "/v1/templates", null).json().path("templates").forEach(t -> bobSees.add(t.path("name").asText()));
    assertTrue(bobSees.contains(TestHost.TEMPLATE) && !bobSees.contains("alices"), "bob sees the operator's template, not alice's: " + bobSees);
    TestHost.Reply take = as(bob, "POST", "/v1/templates", Map.of("name", "alices", "image", "registry.invalid/x:1"));
    assertEquals(409, take.status(), take.raw());
    assertEquals("TEMPLATE_NAME_TAKEN", code(take));
    TestHost.Reply second = as(alice, "POST", "/v1/templates", Map.of("name", "alices-2", "image", "registry.invalid/x:1"));
    assertEquals(429, second.status(), second.raw());
    assertEquals(404, host.call("GET", "/v1/templates/alices-2", null).status(), "the refused build left no template");
    assertFalse(Files.exists(host.dataDir().resolve("templates/alices-2")), "nor a directory");
  }

  @Test
  void aRevokedKeyIsRefusedFromItsNextRequest() throws Exception {
    Key carol = make(Map.of("name", "carol"));
    String hers = create(carol);
    assertEquals(200, as(carol, "GET", "/v1/sandboxes", null).status());
    assertEquals(204, host.call("DELETE", "/v1/keys/" + carol.id(), null).status());
    TestHost.Reply refused = as(carol, "GET", "/v1/sandboxes", null);
    assertEquals(401, refused.status(), refused.raw());
    assertEquals("UNAUTHORIZED", code(refused));
    JsonNode listed = null;
    for (JsonNode k : host.call("GET", "/v1/keys", null).json().path("keys")) if (k.path("id").asText().equals(carol.id())) listed = k;
    assertTrue(listed != null && !listed.path("revokedAt").isNull(), "the list shows it revoked: " + listed);
    assertFalse(listed.has("key"), "and never the key");
    assertTrue(listed.path("prefix").asText().length() < 16 && carol.secret().startsWith(listed.path("prefix").asText()));
    assertEquals(200, host.call("GET", "/v1/sandboxes/" + hers, null).status(), "what it made stays, for an admin");
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + hers, null).status());
  }
}
