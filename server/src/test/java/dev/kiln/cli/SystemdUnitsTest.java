package dev.kiln.cli;

import static dev.kiln.cli.DaemonInvocation.DEPLOY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.config.KilnConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/systemd: each unit starts the daemon in the role its name says, with flags the daemon
 * has and the example config of deploy/config (read by the daemon's own code), and the service
 * settings each role relies on (deploy/README.md says why).
 */
class SystemdUnitsTest {
  private static final Path UNITS = DEPLOY.resolve("systemd");
  private static final Path CONFIGS = DEPLOY.resolve("config");
  /** Where the units expect the configs of deploy/config to be installed. */
  private static final Path INSTALLED_CONFIGS = Path.of("/etc/kiln");
  /**
   * Settings that give a service a mount namespace of its own: a node under one would keep its
   * sandboxes' network namespaces (bind mounts under /run/netns) from the host and from the next
   * daemon, which re-adopts the VMs.
   */
  private static final Set<String> MOUNT_NAMESPACE = Set.of("ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts",
      "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths", "ProtectKernelTunables",
      "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectProc", "ProcSubset", "DynamicUser", "MountAPIVFS", "RootDirectory",
      "RootImage");
  @TempDir Path tmp;

  /** A unit file as systemd reads it: sections of keys, a key given again adds a value (or, empty, resets it). */
  record Unit(String file, Map<String, Map<String, List<String>>> sections) {
    static Unit read(Path f) throws IOException {
      Map<String, Map<String, List<String>>> sections = new LinkedHashMap<>();
      Map<String, List<String>> current = null;
      StringBuilder logical = new StringBuilder();
      for (String raw : Files.readAllLines(f, StandardCharsets.UTF_8)) {
        String line = raw.strip();
        if (logical.isEmpty() && (line.isEmpty() || line.startsWith("#") || line.startsWith(";"))) continue;
        if (line.endsWith("\\")) {
          logical.append(line, 0, line.length() - 1).append(' ');
          continue;
        }
        logical.append(line);
        String l = logical.toString();
        logical.setLength(0);
        if (l.startsWith("[")) {
          current = sections.computeIfAbsent(l.substring(1, l.indexOf(']')), k -> new LinkedHashMap<>());
          continue;
        }
        int eq = l.indexOf('=');
        assertTrue(current != null && eq > 0, f + ": not a key=value line in a section: " + l);
        List<String> values = current.computeIfAbsent(l.substring(0, eq).strip(), k -> new ArrayList<>());
        String value = l.substring(eq + 1).strip();
        if (value.isEmpty()) values.clear();
        values.add(value);
      }
      return new Unit(f.getFileName().toString(), sections);
    }

    List<String> all(String key) {
      return sections.getOrDefault("Service", Map.of()).getOrDefault(key, List.of());
    }

    /** The value systemd uses for a single-valued key: the last one given, or "" when none is. */
    String last(String key) {
      List<String> v = all(key);
      return v.isEmpty() ? "" : v.getLast();
    }

    String role() {
      return file.replaceFirst("^kiln-", "").replaceFirst("\\.service$", "");
    }

    DaemonInvocation daemon() {
      List<String> execStart = all("ExecStart").stream().filter(s -> !s.isEmpty()).toList();
      assertEquals(1, execStart.size(), file + ": one ExecStart");
      String line = execStart.getFirst();
      assertFalse(line.matches(".*['\"$%\\\\].*"), file + ": ExecStart is read here as words split at spaces; it has quotes, specifiers or variables: " + line);
      return DaemonInvocation.parse(Arrays.asList(line.split("\\s+")), file);
    }

    /** The repository's copy of the config the unit's daemon reads. */
    Path config() {
      Path installed = daemon().configPath();
      assertEquals(INSTALLED_CONFIGS, installed.getParent(), file + ": configs are installed in " + INSTALLED_CONFIGS);
      Path copy = CONFIGS.resolve(installed.getFileName());
      assertTrue(Files.isRegularFile(copy), file + " reads " + installed + ", so deploy/config should have " + installed.getFileName());
      return copy;
    }

    KilnConfig effectiveConfig() {
      return daemon().configInRole(config(), role(), file);
    }
  }

  private static Map<String, Unit> units() throws IOException {
    Map<String, Unit> units = new LinkedHashMap<>();
    try (Stream<Path> files = Files.list(UNITS)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".service")).sorted().toList()) {
        Unit u = Unit.read(f);
        units.put(u.role(), u);
      }
    }
    assertEquals(Set.of("control", "node"), units.keySet(), "a unit per cluster role in " + UNITS);
    return units;
  }

  @Test
  void eachUnitRunsTheDaemonInItsRoleWithAConfigTheDaemonAccepts() throws Exception {
    for (Unit u : units().values()) {
      u.effectiveConfig();
      assertEquals("on-failure", u.last("Restart"), u.file() + ": Restart");
    }
  }

  @Test
  void theRolesShareOneDatabaseAndOneProxyDomain() throws Exception {
    Map<String, KilnConfig> byRole = new LinkedHashMap<>();
    for (Unit u : units().values()) byRole.put(u.role(), u.effectiveConfig());
    DaemonInvocation.assertOneCluster(byRole, "deploy/config");
  }

  @Test
  void everyConfigInDeployConfigIsOneAUnitReads() throws Exception {
    Set<String> read = new TreeSet<>();
    for (Unit u : units().values()) read.add(u.config().getFileName().toString());
    try (Stream<Path> files = Files.list(CONFIGS)) {
      Set<String> present = new TreeSet<>(files.map(p -> p.getFileName().toString()).toList());
      assertEquals(present, read, "the configs in " + CONFIGS + " (each is checked through the unit that reads it)");
    }
  }

  @Test
  void theFilesAConfigNamesAreTheCredentialsItsUnitLoads() throws Exception {
    for (Unit u : units().values()) {
      KilnConfig c = u.effectiveConfig();
      Set<String> named = new TreeSet<>();
      for (Path p : Stream.of(c.database().passwordFile(), c.objectStore().credentialsFile()).filter(p -> p != null).toList()) {
        assertEquals(Path.of("/run/credentials", u.file()), p.getParent(),
            u.file() + ": " + p + " should be a credential of the unit (LoadCredential=, at $CREDENTIALS_DIRECTORY), readable by its user");
        named.add(p.getFileName().toString());
      }
      Set<String> loaded = new TreeSet<>();
      for (String l : u.all("LoadCredential")) if (!l.isEmpty()) loaded.add(l.substring(0, l.indexOf(':')));
      assertEquals(named, loaded, u.file() + ": the credentials it loads are the files its config names");
    }
  }

  @Test
  void theNodeLeavesItsVmsRunningAndItsNetworkNamespacesOnTheHost() throws Exception {
    Unit node = units().get("node");
    assertEquals("process", node.last("KillMode"), "a node's restart signals the daemon only; its VMs run on and are re-adopted");
    for (String key : MOUNT_NAMESPACE) {
      assertTrue(node.last(key).isEmpty() || node.last(key).equals("no"), node.file() + " sets " + key + "=" + node.last(key)
          + ", which gives it a mount namespace of its own: the sandboxes' network namespaces under /run/netns would not be the host's");
    }
    assertTrue(node.last("User").isEmpty() || node.last("User").equals("root"), node.file() + ": the node runs as root (networks, and each QEMU started as a uid of its own)");
    assertTrue(node.all("DeviceAllow").isEmpty() && node.last("DevicePolicy").isEmpty() && node.last("ProtectClock").isEmpty(),
        node.file() + ": no device allow-list (ProtectClock= makes one): the node opens /dev/kvm and /dev/net/tun");
    assertNotEquals("yes", node.last("RestrictSUIDSGID"), node.file() + ": template images keep their files' setuid bits");
    KilnConfig c = node.effectiveConfig();
    assertEquals(Path.of("/var/lib/kiln"), c.dataDir(), "the node's data directory");
    String advertised = c.cluster().advertiseUrl();
    assertTrue(advertised != null, node.file() + ": a node listening on " + c.listen() + " says where the controls reach it (cluster.advertiseUrl)");
    assertEquals(DaemonInvocation.port(c.listen()), URI.create(advertised).getPort(), "the port of cluster.advertiseUrl is the node's API port (listen)");
  }

  @Test
  void theControlRunsUnprivilegedWithoutDevices() throws Exception {
    Unit control = units().get("control");
    assertEquals("yes", control.last("DynamicUser"), control.file() + ": an unprivileged user of its own");
    for (String key : List.of("NoNewPrivileges", "PrivateDevices", "PrivateTmp", "ProtectHome", "ProtectKernelTunables", "ProtectControlGroups")) {
      assertEquals("yes", control.last(key), control.file() + ": " + key);
    }
    assertEquals("strict", control.last("ProtectSystem"), control.file() + ": ProtectSystem");
    assertEquals("closed", control.last("DevicePolicy"), control.file() + ": DevicePolicy");
    assertTrue(control.all("CapabilityBoundingSet").equals(List.of("")), control.file() + ": no capabilities (CapabilityBoundingSet=)");
    assertNotEquals("process", control.last("KillMode"), control.file() + ": a control has no VMs to leave running");
    KilnConfig c = control.effectiveConfig();
    assertEquals(Path.of("/var/lib", control.last("StateDirectory")), c.dataDir(), control.file() + ": its data directory is its StateDirectory, the one path it may write");
  }

  @Test
  void theEnvironmentTheUnitsSetIsReadByTheDaemon() throws Exception {
    Set<String> read = DaemonInvocation.environmentRead();
    assertTrue(read.contains("KILN_API_KEY"), "the daemon reads its admin key from KILN_API_KEY: " + read);
    for (Unit u : units().values()) {
      for (String assignment : u.all("Environment")) {
        for (String word : assignment.split("\\s+")) {
          if (word.isEmpty()) continue;
          String name = word.replace("\"", "").substring(0, word.replace("\"", "").indexOf('='));
          assertTrue(read.contains(name), u.file() + " sets " + name + ", which the daemon does not read (it reads " + read + ")");
        }
      }
    }
  }

  /** systemd's own reading of the units, where systemd is installed: an unknown key or a bad value is a warning. */
  @Test
  void systemdAcceptsTheUnits() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-analyze")), "systemd-analyze is not installed");
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/systemd-analyze", "verify", "--man=no"));
    for (Unit u : units().values()) {
      // verify checks that the program exists; the launcher is not installed here.
      String text = Files.readString(UNITS.resolve(u.file())).replace("ExecStart=" + DaemonInvocation.LAUNCHER + " ", "ExecStart=/usr/bin/true ");
      cmd.add(Files.writeString(tmp.resolve(u.file()), text).toString());
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "systemd-analyze verify did not finish");
    assertEquals(0, p.exitValue(), out);
    assertEquals("", out.strip(), "systemd-analyze verify warns about the units");
  }
}
