package dev.kiln.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.json.JsonInputException;
import dev.kiln.json.StrictJson;
import dev.kiln.vmm.Accelerator;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Daemon configuration. Every field has a default, so an empty file (or none) is a valid config;
 * an unknown key is an error, so a typo never silently falls back to a default. Each key's
 * description and range are in its {@link ConfigDoc}, published as docs/config.md.
 */
public record KilnConfig(
    @ConfigDoc("the SQLite database (unless `database.url` is set), templates, disk layers and per-sandbox run directories (`--data-dir`)")
    Path dataDir,
    @ConfigDoc(value = "host:port the REST API listens on (`--listen`)", range = "host:port")
    String listen,
    @ConfigDoc("directory of the guest kernel and initramfs, the output of scripts/build-guest.sh; default: build/guest/current of the installation the launcher runs from (`--guest-artifacts`)")
    Path guestArtifacts,
    @ConfigDoc("`AUTO` uses KVM only with kvm_intel or kvm_amd and a writable /dev/kvm, else TCG emulation; `KVM` or `TCG` forces one (docs/adr/0001)")
    Accelerator.Choice accelerator,
    @ConfigDoc("the QEMU system emulator started for every VM: a name on PATH or a path")
    String qemuBinary,
    @ConfigDoc("who QEMU runs as: a uid of its own per VM")
    VmmConfig vmm,
    @ConfigDoc(value = "how long a new VM may take to answer the agent's handshake; a cold boot under TCG takes ~0.7 s idle with Kiln's kernel (~2.3 s with Debian's), the rest is room for a loaded host", range = "1..3600")
    int bootTimeoutSeconds,
    @ConfigDoc("what a create request gets for the sizes it leaves out; given here, it needs all three keys (one left out counts as 0, which is refused or, for the TTL, means none)")
    SandboxDefaults sandboxDefaults,
    @ConfigDoc("print a generated API key at first start (`--dev`)")
    boolean devMode,
    @ConfigDoc("registries (host[:port]) pulled over plain HTTP; loopback ones always are")
    List<String> insecureRegistries,
    @ConfigDoc("snapshot every template once it is ready, so that sandboxes of the default size restore instead of booting")
    Boolean templateSnapshots,
    @ConfigDoc(value = "output kept per background process for clients that re-attach (1 MiB by default); older output is dropped, and a reader is told how much", range = "4096..67108864")
    long processScrollbackBytes,
    @ConfigDoc("sandbox networking: namespaces, the DNS resolver, the port proxy")
    NetworkConfig network,
    @ConfigDoc(value = "how long a deleted or expired sandbox is remembered: GET answers 404 SANDBOX_DELETED or SANDBOX_EXPIRED with when and why, and its events stay readable; a day by default, long enough to look after a night's run; 0 keeps none", range = "0..2592000")
    Long tombstoneRetentionSeconds,
    @ConfigDoc("object storage for a cluster's template artifacts (docs/adr/0014); left out, artifacts are local files")
    ObjectStoreConfig objectStore,
    @ConfigDoc("where the daemon's state is kept: the SQLite file in `dataDir`, or a PostgreSQL database (what a cluster shares)")
    DatabaseConfig database,
    @ConfigDoc("this daemon as a node of a cluster (docs/adr/0016): its name, address and heartbeats; one host needs none of it")
    ClusterConfig cluster,
    @ConfigDoc("how much of the host one sandbox may hold: checkpoints, disk")
    SandboxQuotas sandboxQuotas,
    @ConfigDoc("E2B's API (docs/e2b.md): its host-name scheme over HTTPS, when given a domain and certificate")
    E2bConfig e2b,
    @ConfigDoc("templates built from a Dockerfile (docs/adr/0025): the build VMs, the context's size limit, the step cache")
    BuildsConfig builds) {
  /** Longest tombstone retention: a month of deleted sandboxes' events is plenty and bounds the table. */
  public static final long MAX_TOMBSTONE_RETENTION_SECONDS = 30L * 24 * 3600;

  public KilnConfig {
    if (dataDir == null) dataDir = Path.of("/var/lib/kiln");
    if (listen == null) listen = "127.0.0.1:7788";
    if (!listen.matches("[^:\\s]+:\\d{1,5}")) throw new IllegalArgumentException("listen must be host:port, got '" + listen + "'");
    // Beside the installation (the launcher passes kiln.root), so a daemon started from any directory finds them.
    if (guestArtifacts == null) guestArtifacts = Path.of(System.getProperty("kiln.root", "")).resolve("build/guest/current");
    if (accelerator == null) accelerator = Accelerator.Choice.AUTO;
    if (qemuBinary == null) qemuBinary = "qemu-system-x86_64";
    if (vmm == null) vmm = VmmConfig.DEFAULT;
    if (bootTimeoutSeconds == 0) bootTimeoutSeconds = 120;
    if (bootTimeoutSeconds < 1 || bootTimeoutSeconds > 3600) throw new IllegalArgumentException("bootTimeoutSeconds must be 1..3600, got " + bootTimeoutSeconds);
    if (sandboxDefaults == null) sandboxDefaults = SandboxDefaults.DEFAULT;
    insecureRegistries = insecureRegistries == null ? List.of() : List.copyOf(insecureRegistries);
    if (templateSnapshots == null) templateSnapshots = true;
    if (network == null) network = NetworkConfig.DEFAULT;
    if (processScrollbackBytes == 0) processScrollbackBytes = 1 << 20;
    if (processScrollbackBytes < 4096 || processScrollbackBytes > 64L << 20) {
      throw new IllegalArgumentException("processScrollbackBytes must be 4096..67108864, got " + processScrollbackBytes);
    }
    if (objectStore == null) objectStore = ObjectStoreConfig.NONE;
    if (database == null) database = DatabaseConfig.EMBEDDED;
    if (cluster == null) cluster = ClusterConfig.DEFAULT;
    if (sandboxQuotas == null) sandboxQuotas = SandboxQuotas.DEFAULT;
    if (e2b == null) e2b = E2bConfig.NONE;
    if (builds == null) builds = BuildsConfig.DEFAULT;
    if (tombstoneRetentionSeconds == null) tombstoneRetentionSeconds = 86_400L;
    if (tombstoneRetentionSeconds < 0 || tombstoneRetentionSeconds > MAX_TOMBSTONE_RETENTION_SECONDS) {
      throw new IllegalArgumentException("tombstoneRetentionSeconds must be 0.." + MAX_TOMBSTONE_RETENTION_SECONDS + " (30 days), got " + tombstoneRetentionSeconds);
    }
  }

  /** Defaults for fields a create request leaves out. */
  public record SandboxDefaults(
      @ConfigDoc(value = "vCPUs", range = "1..64")
      int vcpus,
      @ConfigDoc(value = "guest RAM in MiB: enough for python3 and a package install, small enough for dozens per host (a guest touches its RAM only as it uses it)", range = "128..1048576")
      int memoryMib,
      @ConfigDoc(value = "sandbox TTL in seconds (300 like E2B's default); 0 means no limit", range = ">= 0")
      long timeoutSeconds) {
    public static final SandboxDefaults DEFAULT = new SandboxDefaults(1, 512, 300);

    public SandboxDefaults {
      if (vcpus < 1 || vcpus > 64) throw new IllegalArgumentException("sandboxDefaults.vcpus must be 1..64, got " + vcpus);
      if (memoryMib < 128 || memoryMib > 1 << 20) throw new IllegalArgumentException("sandboxDefaults.memoryMib must be 128..1048576, got " + memoryMib);
      if (timeoutSeconds < 0) throw new IllegalArgumentException("sandboxDefaults.timeoutSeconds must be >= 0, got " + timeoutSeconds);
    }
  }

  public static KilnConfig defaults() {
    return new KilnConfig(null, null, null, null, null, null, 0, null, false, null, null, 0, null, null, null, null, null, null, null, null);
  }

  /**
   * Config files are bound strictly, but with enum values ("accelerator": "tcg") in any case, and
   * a missing (or null) key of a primitive type bound as 0, which the records read as "the default".
   */
  private static final ObjectMapper CONFIG_JSON = StrictJson.builder().enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
      .disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES).build();

  /**
   * Reads a JSON config file. An unknown key (a typo) is an error naming it and the keys known at
   * that place; a value of the wrong type or out of range names its key, what it must be and what
   * it is.
   *
   * @throws ConfigException if the file cannot be read or is not a valid config; its message is for the operator as it is
   */
  public static KilnConfig load(Path file) {
    byte[] raw;
    try {
      raw = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException("config file " + file + " does not exist");
    } catch (AccessDeniedException e) {
      throw new ConfigException("config file " + file + " cannot be read: permission denied");
    } catch (IOException e) {
      throw new ConfigException("config file " + file + " cannot be read: " + (e.getMessage() == null ? "I/O error" : e.getMessage()));
    }
    try {
      return StrictJson.read(CONFIG_JSON, raw, KilnConfig.class);
    } catch (JsonInputException e) {
      throw new ConfigException(e.describe("config file " + file, "key", " in " + file));
    }
  }

  public KilnConfig withDataDir(Path p) {
    return new KilnConfig(p, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network, tombstoneRetentionSeconds, objectStore, database, cluster, sandboxQuotas, e2b, builds);
  }

  public KilnConfig withListen(String l) {
    return new KilnConfig(dataDir, l, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network, tombstoneRetentionSeconds, objectStore, database, cluster, sandboxQuotas, e2b, builds);
  }

  public KilnConfig withGuestArtifacts(Path p) {
    return new KilnConfig(dataDir, listen, p, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network, tombstoneRetentionSeconds, objectStore, database, cluster, sandboxQuotas, e2b, builds);
  }

  public KilnConfig withTemplateSnapshots(boolean on) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, on, processScrollbackBytes, network, tombstoneRetentionSeconds, objectStore, database, cluster, sandboxQuotas, e2b, builds);
  }

  public KilnConfig withDevMode(boolean d) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, d, insecureRegistries, templateSnapshots, processScrollbackBytes, network, tombstoneRetentionSeconds, objectStore, database, cluster, sandboxQuotas, e2b, builds);
  }

  public KilnConfig withTombstoneRetentionSeconds(long seconds) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network, seconds, objectStore, database, cluster, sandboxQuotas, e2b, builds);
  }

  public KilnConfig withNetwork(NetworkConfig n) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, n, tombstoneRetentionSeconds, objectStore, database, cluster, sandboxQuotas, e2b, builds);
  }

  public KilnConfig withDatabase(DatabaseConfig d) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network, tombstoneRetentionSeconds, objectStore, d, cluster, sandboxQuotas, e2b, builds);
  }

  public KilnConfig withSandboxQuotas(SandboxQuotas q) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network, tombstoneRetentionSeconds, objectStore, database, cluster, q, e2b, builds);
  }

  public KilnConfig withCluster(ClusterConfig c) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network, tombstoneRetentionSeconds, objectStore, database, c, sandboxQuotas, e2b, builds);
  }

  public KilnConfig withObjectStore(ObjectStoreConfig o) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network, tombstoneRetentionSeconds, o, database, cluster, sandboxQuotas, e2b, builds);
  }

  public KilnConfig withE2b(E2bConfig e) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network, tombstoneRetentionSeconds, objectStore, database, cluster, sandboxQuotas, e, builds);
  }

  public KilnConfig withBuilds(BuildsConfig b) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmm, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network, tombstoneRetentionSeconds, objectStore, database, cluster, sandboxQuotas, e2b, b);
  }
}
