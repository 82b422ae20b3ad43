package dev.kiln.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.vmm.Accelerator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Daemon configuration. Every field has a default, so an empty file (or none) is a valid config;
 * an unknown key is an error, so a typo never silently falls back to a default.
 *
 * @param dataDir         SQLite database, templates and per-sandbox run directories
 * @param listen          HTTP listen address, host:port
 * @param guestArtifacts  directory of the guest kernel and initramfs (scripts/build-guest.sh output)
 * @param vmmUser         unprivileged user QEMU runs as (the installer creates kiln-vmm); "" runs it as
 *                        the daemon's own user, which only makes sense for development
 * @param templateSnapshots snapshot every template once it is ready, so sandboxes of the default size
 *                        restore instead of booting (default true)
 * @param insecureRegistries registries (host[:port]) pulled over plain HTTP; loopback ones always are
 * @param processScrollbackBytes output kept per background process for clients that re-attach
 *                        (default 1 MiB); older output is dropped, and a reader is told how much
 * @param network        sandbox networking: namespaces, resolver, port proxy ({@link NetworkConfig})
 * @param bootTimeoutSeconds how long a new VM may take to answer the agent handshake. Under TCG a
 *                        cold boot takes ~3-4 s idle; 120 s leaves room for a host loaded with tests
 */
public record KilnConfig(Path dataDir, String listen, Path guestArtifacts, Accelerator.Choice accelerator, String qemuBinary,
    String vmmUser, int bootTimeoutSeconds, SandboxDefaults sandboxDefaults, boolean devMode, List<String> insecureRegistries,
    Boolean templateSnapshots, long processScrollbackBytes, NetworkConfig network) {

  public KilnConfig {
    if (dataDir == null) dataDir = Path.of("/var/lib/kiln");
    if (listen == null) listen = "127.0.0.1:7788";
    if (!listen.matches("[^:\\s]+:\\d{1,5}")) throw new IllegalArgumentException("listen must be host:port, got '" + listen + "'");
    // Beside the installation (the launcher passes kiln.root), so a daemon started from any directory finds them.
    if (guestArtifacts == null) guestArtifacts = Path.of(System.getProperty("kiln.root", "")).resolve("build/guest/current");
    if (accelerator == null) accelerator = Accelerator.Choice.AUTO;
    if (qemuBinary == null) qemuBinary = "qemu-system-x86_64";
    if (vmmUser == null) vmmUser = "kiln-vmm";
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
  }

  /**
   * Defaults for fields a create request leaves out.
   *
   * @param memoryMib 512 MiB: enough for python3 and a package install in the guest, small enough for
   *                  dozens per host (guest RAM is only touched as used)
   * @param timeoutSeconds sandbox TTL: 300 s like E2B's default; 0 means no limit
   */
  public record SandboxDefaults(int vcpus, int memoryMib, long timeoutSeconds) {
    public static final SandboxDefaults DEFAULT = new SandboxDefaults(1, 512, 300);

    public SandboxDefaults {
      if (vcpus < 1 || vcpus > 64) throw new IllegalArgumentException("sandboxDefaults.vcpus must be 1..64, got " + vcpus);
      if (memoryMib < 128 || memoryMib > 1 << 20) throw new IllegalArgumentException("sandboxDefaults.memoryMib must be 128..1048576, got " + memoryMib);
      if (timeoutSeconds < 0) throw new IllegalArgumentException("sandboxDefaults.timeoutSeconds must be >= 0, got " + timeoutSeconds);
    }
  }

  public static KilnConfig defaults() {
    return new KilnConfig(null, null, null, null, null, null, 0, null, false, null, null, 0, null);
  }

  /** Reads a JSON config file; unknown keys are rejected with their name. */
  public static KilnConfig load(Path file) throws IOException {
    ObjectMapper m = new ObjectMapper()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    return m.readValue(file.toFile(), KilnConfig.class);
  }

  public KilnConfig withDataDir(Path p) {
    return new KilnConfig(p, listen, guestArtifacts, accelerator, qemuBinary, vmmUser, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network);
  }

  public KilnConfig withListen(String l) {
    return new KilnConfig(dataDir, l, guestArtifacts, accelerator, qemuBinary, vmmUser, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network);
  }

  public KilnConfig withGuestArtifacts(Path p) {
    return new KilnConfig(dataDir, listen, p, accelerator, qemuBinary, vmmUser, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, network);
  }

  public KilnConfig withTemplateSnapshots(boolean on) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmmUser, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, on, processScrollbackBytes, network);
  }

  public KilnConfig withDevMode(boolean d) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmmUser, bootTimeoutSeconds, sandboxDefaults, d, insecureRegistries, templateSnapshots, processScrollbackBytes, network);
  }

  public KilnConfig withNetwork(NetworkConfig n) {
    return new KilnConfig(dataDir, listen, guestArtifacts, accelerator, qemuBinary, vmmUser, bootTimeoutSeconds, sandboxDefaults, devMode, insecureRegistries, templateSnapshots, processScrollbackBytes, n);
  }
}
