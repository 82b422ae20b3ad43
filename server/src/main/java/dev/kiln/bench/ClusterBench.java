package dev.kiln.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.cluster.NodeCredential;
import dev.kiln.cluster.NodeRegistry;
import dev.kiln.cluster.NodeRoute;
import dev.kiln.config.ClusterConfig;
import dev.kiln.config.DatabaseConfig;
import dev.kiln.config.KilnConfig;
import dev.kiln.config.NetworkConfig;
import dev.kiln.config.ObjectStoreConfig;
import dev.kiln.daemon.ControlDaemon;
import dev.kiln.daemon.DaemonStartException;
import dev.kiln.daemon.KilnDaemon;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.image.TemplateSource;
import dev.kiln.store.Database;
import dev.kiln.store.NodeRepository;
import dev.kiln.store.PostgresTarget;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The cost of the control plane's hop (docs/adr/0017): one node and one control instance in this
 * process, on one PostgreSQL database, and the same requests sent through the control instance
 * (with a user's key) and straight to the node (with the node's credential, as the control
 * instance sends them). Rounds alternate, so a change in the host's load touches both alike.
 *
 * <p>The database is the one the user named, or else a {@link ThrowawayPostgres} started here;
 * without either the lines are skipped with the reason.
 */
final class ClusterBench {
  private static final String TEMPLATE = "bench";
  private final Path work;
  private final Path rootfs;
  private final GuestArtifacts artifacts;
  private final int rounds;
  private final String key;
  private final HttpClient http = HttpClient.newHttpClient();
  private final ObjectMapper json = new ObjectMapper();

  /** Everything lives under {@code work}; {@code rootfs} is the directory the bench's template is built from. */
  private final BenchReport report;

  ClusterBench(Path work, Path rootfs, GuestArtifacts artifacts, int rounds, String key, BenchReport report) {
    this.report = report;
    this.work = work;
    this.rootfs = rootfs;
    this.artifacts = artifacts;
    this.rounds = rounds;
    this.key = key;
  }

  /** Measures and prints the lines on {@code given}, or on a server of its own, or prints why they are skipped. */
  void run(Optional<DatabaseConfig> given) throws Exception {
    if (given.isPresent()) {
      measureOrSkip(given.get(), "--cluster-database " + given.get().url() + ": ");
      return;
    }
    Optional<String> why = ThrowawayPostgres.unavailableReason();
    if (why.isPresent()) {
      skipped(why.get() + "; or name a database with --cluster-database");
      return;
    }
    ThrowawayPostgres own;
    try {
      own = ThrowawayPostgres.start(work);
    } catch (IOException e) {
      skipped("the bench's own PostgreSQL did not start: " + e.getMessage());
      return;
    }
    try (own) {
      measureOrSkip(new DatabaseConfig(own.url("postgres"), ThrowawayPostgres.USER, null, 0), "the bench's own PostgreSQL: ");
    }
  }

  private void skipped(String why) {
    report.note("cluster lines skipped: " + why);
  }

  /** A daemon that cannot start on the database (unreachable, refused, not migratable) says why in one line, which the skip line carries. */
  private void measureOrSkip(DatabaseConfig db, String which) throws Exception {
    try {
      measure(db);
    } catch (DaemonStartException e) {
      skipped(which + e.getMessage());
    }
  }

  private void measure(DatabaseConfig db) throws Exception {
    byte[] r = new byte[4];
    new SecureRandom().nextBytes(r);
    String nodeName = "bench-" + HexFormat.of().formatHex(r);
    // No networking: the hop is what is measured, and a second daemon's namespaces would only add noise.
    NetworkConfig network = new NetworkConfig(false, null, null, null, 0, null, "127.0.0.1:0", null, null, null);
    // The nodes share a directory as their bucket: a paused sandbox moves between them through it.
    KilnConfig common = KilnConfig.defaults().withListen("127.0.0.1:0").withGuestArtifacts(artifacts.kernel().getParent()).withTemplateSnapshots(false)
        .withNetwork(network).withDatabase(db).withObjectStore(ObjectStoreConfig.directory(work.resolve("cluster-bucket").toAbsolutePath()));
    KilnConfig nodeConfig = common.withDataDir(work.resolve("cluster-node")).withCluster(new ClusterConfig(ClusterConfig.Role.NODE, nodeName, null, 0, 0, null));
    KilnConfig otherConfig = common.withDataDir(work.resolve("cluster-node-b"))
        .withCluster(new ClusterConfig(ClusterConfig.Role.NODE, nodeName + "-b", null, 0, 0, null));
    KilnConfig controlConfig = common.withDataDir(work.resolve("cluster-control")).withCluster(ClusterConfig.DEFAULT.withRole(ClusterConfig.Role.CONTROL));
    Nodes nodes = new Nodes(nodeConfig);
    try (nodes; KilnDaemon other = new KilnDaemon(otherConfig, Optional.empty())) {
      nodes.first.templates().build(TEMPLATE, new TemplateSource.Directory(rootfs.toAbsolutePath()), 256, Optional.empty());
      nodes.first.sandboxes().snapshot(TEMPLATE);
      other.start();
      try (ControlDaemon control = new ControlDaemon(controlConfig, Optional.of(key))) {
        control.start();
        String credential = credential(db, nodeName).value();
        BenchApi direct = new BenchApi(http, json, "http://127.0.0.1:" + nodes.first.port(), b -> b.header(NodeCredential.HEADER, credential));
        BenchApi hop = new BenchApi(http, json, "http://127.0.0.1:" + control.port(), b -> b.header("Authorization", "Bearer " + key));
        measure(direct, hop, nodeName);
        measureResume(hop, nodes, nodeName);
        Path image = nodes.first.templates().ready(TEMPLATE).rootfs().orElseThrow();
        new MigrationBench(work, rounds, artifacts, report).measure(hop, TEMPLATE, nodeName, nodeName + "-b", image);
      } finally {
        other.sandboxes().deleteAll();
      }
    }
  }

  /** The first node, which the cross-node resume stops and starts again; whatever runs on it is deleted at the end. */
  private static final class Nodes implements AutoCloseable {
    private final KilnConfig config;
    KilnDaemon first;

    Nodes(KilnConfig config) throws Exception {
      this.config = config;
      first = new KilnDaemon(config, Optional.empty());
      first.start();
    }

    void stopFirst() throws Exception {
      first.close();
    }

    void startFirst() throws Exception {
      first = new KilnDaemon(config, Optional.empty());
      first.start();
    }

    @Override
    public void close() throws Exception {
      // A node's sandboxes outlive its daemon (re-adopted at its next start); the bench leaves none.
      try {
        first.sandboxes().deleteAll();
      } finally {
        first.close();
      }
    }
  }

  /**
   * Resume to first exec of a sandbox paused on the first node: there, and on the second node once
   * the first is down (its state and disk fetched from the bucket, the row taken over). The node
   * stops and starts again outside the timed part.
   */
  private void measureResume(BenchApi hop, Nodes nodes, String nodeName) throws Exception {
    Stats same = new Stats("resume to first exec answered, on the node it paused on", "ms");
    Stats cross = new Stats("resume to first exec answered, on another node (its own down; state from the bucket)", "ms");
    String body = "{\"template\":\"" + TEMPLATE + "\",\"memoryMib\":512,\"node\":\"" + nodeName + "\"}";
    for (int i = 0; i < rounds; i++) {
      String id = hop.create(body);
      hop.exec(id);
      hop.post(id, "pause");
      long t0 = System.nanoTime();
      hop.post(id, "resume");
      hop.exec(id);
      same.add(ms(t0));
      hop.post(id, "pause");
      nodes.stopFirst();
      t0 = System.nanoTime();
      hop.post(id, "resume");
      hop.exec(id);
      cross.add(ms(t0));
      hop.delete(id);
      nodes.startFirst();
    }
    report.line(same);
    report.line(cross);
    report.note(String.format("ratios: cross-node resume/same-node resume %.2f (%+.0f ms)", cross.median() / same.median(), cross.median() - same.median()));
  }

  private void measure(BenchApi direct, BenchApi hop, String nodeName) throws Exception {
    Stats directCreate = new Stats("create to first exec answered, from snapshot, directly on the node", "ms");
    Stats hopCreate = new Stats("create to first exec answered, from snapshot, through a control instance", "ms");
    String body = "{\"template\":\"" + TEMPLATE + "\",\"memoryMib\":512,\"node\":\"" + nodeName + "\"}";
    // Untimed, one each: the new node's first restore and both daemons' first requests pay for loading and JIT, which no later create does.
    for (BenchApi api : new BenchApi[] {direct, hop}) {
      String id = api.create(body);
      api.exec(id);
      api.delete(id);
    }
    for (int i = 0; i < rounds; i++) {
      for (BenchApi api : new BenchApi[] {direct, hop}) {
        long t0 = System.nanoTime();
        String id = api.create(body);
        api.exec(id);
        (api == direct ? directCreate : hopCreate).add(ms(t0));
        api.delete(id);
      }
    }
    Stats directExec = new Stats("exec `true` round trip, directly on the node", "ms");
    Stats hopExec = new Stats("exec `true` round trip, through a control instance", "ms");
    String id = direct.create(body);
    for (int i = 0; i < rounds * 6; i++) {
      long t0 = System.nanoTime();
      direct.exec(id);
      directExec.add(ms(t0));
      t0 = System.nanoTime();
      hop.exec(id);
      hopExec.add(ms(t0));
    }
    direct.delete(id);
    report.line(directCreate);
    report.line(hopCreate);
    report.line(directExec);
    report.line(hopExec);
    report.note(String.format("ratios: through a control instance/directly on the node: create %.2f (%+.0f ms), exec %.2f (%+.1f ms)",
        hopCreate.median() / directCreate.median(), hopCreate.median() - directCreate.median(), hopExec.median() / directExec.median(),
        hopExec.median() - directExec.median()));
  }

  /** What the node takes from control instances, read from its row as a control instance reads it. */
  private static NodeCredential credential(DatabaseConfig c, String nodeName) throws Exception {
    Optional<String> password = c.passwordFile() == null ? Optional.empty()
        : Optional.of(Files.readString(c.passwordFile(), StandardCharsets.UTF_8).replaceFirst("\\r?\\n$", ""));
    try (Database db = Database.open(new PostgresTarget(c.url(), c.user(), password, 1))) {
      return new NodeRegistry(new NodeRepository(db)).routes().stream().filter(n -> n.nodeName().equals(nodeName)).findFirst()
          .map(NodeRoute::credential).orElseThrow(() -> new IllegalStateException("node " + nodeName + " is not registered in " + c.url()));
    }
  }

  private static double ms(long t0) {
    return (System.nanoTime() - t0) / 1e6;
  }
}
