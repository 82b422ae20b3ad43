package dev.kiln.cli;

import static dev.kiln.cli.DaemonInvocation.DEPLOY;
import static dev.kiln.cli.DaemonInvocation.host;
import static dev.kiln.cli.DaemonInvocation.port;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.config.ClusterConfig;
import dev.kiln.config.KilnConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * deploy/kubernetes: every workload starts the daemon in the role its labels say, with flags the
 * daemon has and the config of its ConfigMap (read by the daemon's own code); its ports, Service,
 * environment and mounts are the ones that config and the code use.
 */
class KubernetesManifestsTest {
  private static final Path MANIFESTS = DEPLOY.resolve("kubernetes");
  private static final String COMPONENT = "app.kubernetes.io/component";
  /** A $(VAR) reference, which Kubernetes expands in a container's command and args from its env. */
  private static final Pattern EXPANSION = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");
  /** What $(VAR) stands for while the command line is parsed here (TEST-NET-1, RFC 5737). */
  private static final String EXPANDED = "192.0.2.10";
  @TempDir Path tmp;

  /** A Deployment or DaemonSet, its pod spec and the container that runs the daemon. */
  record Workload(Map<String, Object> object, Map<String, Object> pod, Map<String, Object> container) {
    String name() {
      return str(map(object.get("metadata")).get("name"));
    }

    String kind() {
      return str(object.get("kind"));
    }

    String role() {
      return str(map(map(map(map(object.get("spec")).get("template")).get("metadata")).get("labels")).get(COMPONENT));
    }

    List<String> argv() {
      List<String> argv = new ArrayList<>();
      for (String key : List.of("command", "args")) for (Object a : list(container.get(key))) argv.add(str(a));
      return argv;
    }

    Map<String, Integer> containerPorts() {
      Map<String, Integer> ports = new LinkedHashMap<>();
      for (Object p : list(container.get("ports"))) ports.put(str(map(p).get("name")), (Integer) map(p).get("containerPort"));
      return ports;
    }

    Map<String, Object> volume(String name) {
      return list(pod.get("volumes")).stream().map(KubernetesManifestsTest::map).filter(v -> name.equals(v.get("name"))).findFirst()
          .orElseThrow(() -> new AssertionError(name() + " mounts volume " + name + ", which it does not have"));
    }

    /** The mount holding {@code path} as a file directly in it, or null. */
    Map<String, Object> mountOf(Path path) {
      return list(container.get("volumeMounts")).stream().map(KubernetesManifestsTest::map)
          .filter(m -> Path.of(str(m.get("mountPath"))).equals(path.getParent())).findFirst().orElse(null);
    }

    Map<String, Object> mountAt(String path) {
      return list(container.get("volumeMounts")).stream().map(KubernetesManifestsTest::map).filter(m -> path.equals(m.get("mountPath"))).findFirst()
          .orElseThrow(() -> new AssertionError(name() + " mounts nothing at " + path));
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return o == null ? Map.of() : (Map<String, Object>) o;
  }

  static List<Object> list(Object o) {
    return o == null ? List.of() : Arrays.asList(((List<?>) o).toArray());
  }

  static String str(Object o) {
    return o == null ? null : o.toString();
  }

  private static List<Map<String, Object>> objects() throws Exception {
    List<Map<String, Object>> all = new ArrayList<>();
    try (Stream<Path> files = Files.list(MANIFESTS)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        for (Object doc : new Load(LoadSettings.builder().build()).loadAllFromString(Files.readString(f))) {
          if (doc == null) continue;
          Map<String, Object> o = map(doc);
          for (String key : List.of("apiVersion", "kind")) assertNotNull(o.get(key), f + ": an object without " + key);
          assertNotNull(map(o.get("metadata")).get("name"), f + ": a " + o.get("kind") + " without a name");
          all.add(o);
        }
      }
    }
    return all;
  }

  private static List<Map<String, Object>> ofKind(String kind) throws Exception {
    return objects().stream().filter(o -> kind.equals(o.get("kind"))).toList();
  }

  private static Map<String, Workload> workloads() throws Exception {
    Map<String, Workload> byRole = new LinkedHashMap<>();
    for (Map<String, Object> o : objects()) {
      if (!Set.of("Deployment", "DaemonSet", "StatefulSet").contains(str(o.get("kind")))) continue;
      Map<String, Object> spec = map(o.get("spec"));
      Map<String, Object> pod = map(map(spec.get("template")).get("spec"));
      List<Map<String, Object>> daemons = list(pod.get("containers")).stream().map(KubernetesManifestsTest::map)
          .filter(c -> !list(c.get("command")).isEmpty() && DaemonInvocation.LAUNCHER.equals(list(c.get("command")).getFirst())).toList();
      assertEquals(1, daemons.size(), map(o.get("metadata")).get("name") + ": one container runs " + DaemonInvocation.LAUNCHER);
      Workload w = new Workload(o, pod, daemons.getFirst());
      Map<String, Object> selector = map(map(spec.get("selector")).get("matchLabels"));
      Map<String, Object> labels = map(map(map(spec.get("template")).get("metadata")).get("labels"));
      assertTrue(!selector.isEmpty() && labels.entrySet().containsAll(selector.entrySet()), w.name() + ": its selector " + selector + " picks its pods " + labels);
      assertFalse(byRole.containsKey(w.role()), "two workloads of role " + w.role());
      byRole.put(w.role(), w);
    }
    assertEquals(Set.of("control", "node"), byRole.keySet(), "a workload per cluster role (label " + COMPONENT + ")");
    return byRole;
  }

  /** The container's command line with Kubernetes' $(VAR) expansions done; each must name an env var of the container. */
  private static DaemonInvocation daemon(Workload w) {
    Set<String> env = envNames(w);
    List<String> argv = new ArrayList<>();
    for (String a : w.argv()) {
      Matcher m = EXPANSION.matcher(a);
      while (m.find()) assertTrue(env.contains(m.group(1)), w.name() + " expands $(" + m.group(1) + "), which is not in its env, so it stays as written");
      argv.add(m.replaceAll(EXPANDED));
    }
    return DaemonInvocation.parse(argv, w.kind() + " " + w.name());
  }

  private static Set<String> envNames(Workload w) {
    Set<String> names = new TreeSet<>();
    for (Object e : list(w.container().get("env"))) names.add(str(map(e).get("name")));
    return names;
  }

  /** The config the workload's daemon runs with: its --config file from the ConfigMap mounted there, with the flags over it. */
  private KilnConfig config(Workload w) throws Exception {
    DaemonInvocation d = daemon(w);
    Map<String, Object> mount = w.mountOf(d.configPath());
    assertNotNull(mount, w.name() + ": nothing is mounted where its config " + d.configPath() + " is");
    String configMap = str(map(w.volume(str(mount.get("name"))).get("configMap")).get("name"));
    assertNotNull(configMap, w.name() + ": its config comes from a ConfigMap");
    Map<String, Object> cm = ofKind("ConfigMap").stream().filter(o -> configMap.equals(map(o.get("metadata")).get("name"))).findFirst()
        .orElseThrow(() -> new AssertionError(w.name() + " mounts ConfigMap " + configMap + ", which the manifests do not have"));
    String json = str(map(cm.get("data")).get(d.configPath().getFileName().toString()));
    assertNotNull(json, "ConfigMap " + configMap + " has no key " + d.configPath().getFileName() + " (" + w.name() + "'s --config)");
    Path file = Files.writeString(tmp.resolve(w.role() + "-" + d.configPath().getFileName()), json);
    return d.configInRole(file, w.role(), w.kind() + " " + w.name());
  }

  @Test
  void theManifestsAreKubernetesObjectsAndCarryNoSecretValues() throws Exception {
    List<Map<String, Object>> objects = objects();
    Set<String> seen = new TreeSet<>();
    for (Map<String, Object> o : objects) {
      assertTrue(seen.add(o.get("kind") + "/" + map(o.get("metadata")).get("name")), "two objects " + o.get("kind") + "/" + map(o.get("metadata")).get("name"));
      assertNotEquals("Secret", o.get("kind"), "Secrets are made by the operator (deploy/README.md), never kept in the repository");
    }
  }

  @Test
  void eachWorkloadRunsTheDaemonInItsRoleWithAConfigTheDaemonAccepts() throws Exception {
    Set<String> roles = new TreeSet<>();
    for (ClusterConfig.Role r : ClusterConfig.Role.values()) roles.add(r.flag());
    for (Workload w : workloads().values()) {
      assertTrue(roles.contains(w.role()), w.name() + ": role label " + w.role() + " is not one of " + roles);
      config(w);
    }
    Workload control = workloads().get("control");
    assertEquals("Deployment", control.kind(), "controls are interchangeable replicas");
    assertEquals(2, map(control.object().get("spec")).get("replicas"), "two controls, so one can restart while the other serves");
    assertEquals("DaemonSet", workloads().get("node").kind(), "one node per Kubernetes node that is to run VMs");
  }

  @Test
  void theRolesShareOneDatabaseAndOneProxyDomain() throws Exception {
    Map<String, KilnConfig> byRole = new LinkedHashMap<>();
    for (Workload w : workloads().values()) byRole.put(w.role(), config(w));
    DaemonInvocation.assertOneCluster(byRole, "deploy/kubernetes");
  }

  @Test
  void containerAndServicePortsAreTheOnesTheConfigsListenOn() throws Exception {
    for (Workload w : workloads().values()) {
      KilnConfig c = config(w);
      Map<String, Integer> expected = Map.of("api", port(c.listen()), "proxy", port(c.network().proxyListen()));
      assertEquals(expected, w.containerPorts(), w.name() + ": its container ports are the API's (listen) and the port proxy's (network.proxyListen)");
      boolean hostNetwork = Boolean.TRUE.equals(w.pod().get("hostNetwork"));
      for (Object p : list(w.container().get("ports"))) {
        if (hostNetwork) assertEquals(map(p).get("containerPort"), map(p).get("hostPort"), w.name() + ": on the host's network a hostPort is its containerPort");
      }
      for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
        Object port = map(map(w.container().get(probe)).get("httpGet")).get("port");
        if (port != null) assertTrue(port.equals("api") || port.equals(expected.get("api")), w.name() + ": " + probe + " asks the API's port, not " + port);
      }
    }
    Workload control = workloads().get("control");
    KilnConfig cc = config(control);
    for (String hostPort : List.of(cc.listen(), cc.network().proxyListen())) {
      assertEquals("0.0.0.0", host(hostPort), control.name() + ": listens on the pod's addresses for its Service, not " + hostPort);
    }
    Map<String, Object> labels = map(map(map(map(control.object().get("spec")).get("template")).get("metadata")).get("labels"));
    List<Map<String, Object>> services = ofKind("Service").stream()
        .filter(s -> labels.entrySet().containsAll(map(map(s.get("spec")).get("selector")).entrySet())).toList();
    assertEquals(1, services.size(), "one Service in front of the controls");
    Set<Integer> targets = new TreeSet<>();
    for (Object p : list(map(services.getFirst().get("spec")).get("ports"))) {
      Object target = Objects.requireNonNullElse(map(p).get("targetPort"), map(p).get("port"));
      Integer port = target instanceof Integer i ? i : control.containerPorts().get(str(target));
      assertTrue(control.containerPorts().containsValue(port), "Service port " + map(p).get("name") + " targets " + target + ", not a port of the controls");
      targets.add(port);
    }
    assertEquals(new TreeSet<>(control.containerPorts().values()), targets, "the Service serves the controls' API and port proxy");
  }

  @Test
  void theNodeListensOnTheHostsAddressAndAdvertisesIt() throws Exception {
    Workload node = workloads().get("node");
    KilnConfig c = config(node);
    assertEquals(EXPANDED, host(c.listen()), node.name() + ": the node's API is on the address the controls reach (--listen $(HOST_IP):…)");
    Object hostIp = list(node.container().get("env")).stream().map(KubernetesManifestsTest::map).filter(e -> "HOST_IP".equals(e.get("name")))
        .map(e -> map(map(e.get("valueFrom")).get("fieldRef")).get("fieldPath")).findFirst().orElse(null);
    assertEquals("status.hostIP", hostIp, node.name() + ": HOST_IP is the pod's host address");
    assertNull(c.cluster().advertiseUrl(), node.name() + ": no fixed cluster.advertiseUrl in a config every node shares; the default, http://<listen>, is this host's");
    assertNotEquals("127.0.0.1", host(c.network().proxyListen()), node.name() + ": the controls reach the node's port proxy");
  }

  @Test
  void everyEnvVarIsReadByTheDaemonOrExpandedInItsCommand() throws Exception {
    Set<String> read = DaemonInvocation.environmentRead();
    for (Workload w : workloads().values()) {
      String argv = String.join(" ", w.argv());
      for (String name : envNames(w)) {
        assertTrue(read.contains(name) || argv.contains("$(" + name + ")"),
            w.name() + " sets " + name + ", which the daemon does not read (it reads " + read + ") and its command does not expand");
      }
    }
    assertTrue(envNames(workloads().get("control")).contains("KILN_API_KEY"), "the controls get the admin key");
  }

  @Test
  void theFilesAConfigNamesAreMountedFromSecrets() throws Exception {
    for (Workload w : workloads().values()) {
      KilnConfig c = config(w);
      for (Path p : Stream.of(c.database().passwordFile(), c.objectStore().credentialsFile()).filter(Objects::nonNull).toList()) {
        Map<String, Object> mount = w.mountOf(p);
        assertNotNull(mount, w.name() + ": its config names " + p + ", and nothing is mounted at " + p.getParent());
        Map<String, Object> secret = map(w.volume(str(mount.get("name"))).get("secret"));
        assertNotNull(secret.get("secretName"), w.name() + ": " + p + " comes from a Secret");
        List<Object> items = list(secret.get("items"));
        assertTrue(items.isEmpty() || items.stream().anyMatch(i -> p.getFileName().toString().equals(map(i).get("path"))),
            w.name() + ": Secret " + secret.get("secretName") + " gives no file " + p.getFileName());
      }
    }
  }

  @Test
  void theNodeHasTheHostAccessItNeedsAndTheControlNone() throws Exception {
    Workload node = workloads().get("node");
    KilnConfig nc = config(node);
    assertEquals(Boolean.TRUE, node.pod().get("hostNetwork"), "sandbox networks are made on the host");
    Map<String, Object> security = map(node.container().get("securityContext"));
    assertEquals(Boolean.TRUE, security.get("privileged"), "namespaces shared with the host, nftables, /dev/kvm");
    assertTrue(security.get("runAsUser") == null || Integer.valueOf(0).equals(security.get("runAsUser")), "the node runs as root");
    for (String path : List.of(nc.dataDir().toString(), "/run/kiln", "/run/netns")) {
      Map<String, Object> mount = node.mountAt(path);
      assertEquals(path, map(node.volume(str(mount.get("name"))).get("hostPath")).get("path"), node.name() + ": " + path + " is the host's");
    }
    assertEquals("Bidirectional", node.mountAt("/run/netns").get("mountPropagation"), "namespaces the daemon makes are the host's");
    assertTrue(map(map(node.container().get("resources")).get("limits")).isEmpty(), "a limit on the node's container would cap all its VMs together");
    assertEquals("OnDelete", map(map(node.object().get("spec")).get("updateStrategy")).get("type"), "a rolling update would end every node's VMs");

    Workload control = workloads().get("control");
    Map<String, Object> pod = map(control.pod().get("securityContext"));
    Map<String, Object> container = map(control.container().get("securityContext"));
    assertEquals(Boolean.TRUE, pod.get("runAsNonRoot"), control.name() + ": runAsNonRoot");
    assertEquals(Boolean.FALSE, container.get("allowPrivilegeEscalation"), control.name() + ": allowPrivilegeEscalation");
    assertEquals(List.of("ALL"), map(container.get("capabilities")).get("drop"), control.name() + ": drops every capability");
    assertFalse(Boolean.TRUE.equals(container.get("privileged")) || Boolean.TRUE.equals(control.pod().get("hostNetwork")), control.name() + ": nothing of the host");
    for (Object v : list(control.pod().get("volumes"))) assertNull(map(v).get("hostPath"), control.name() + " mounts a host path: " + v);
  }
}
