package dev.kiln.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.vmm.Accelerator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Daemon configuration. Every field has a default, so an empty file (or none) is a valid config;
 * an unknown key is an error, so a typo never silently falls back to a default. Each key's
 * description and range are in its {@link ConfigDoc}, published as docs/config.md.
 */
public record KilnConfig(
    @ConfigDoc("SQLite database, templates, disk layers and per-sandbox run directories (`--data-dir`)")
    Path dataDir,
    @ConfigDoc(value = "host:port the REST API listens on (`--listen`)", range = "host:port")
    String listen,
    @ConfigDoc("directory of the guest kernel and initramfs, the output of scripts/build-guest.sh; relative to the daemon's working directory (`--guest-artifacts`)")
    Path guestArtifacts,
    @ConfigDoc("`AUTO` uses KVM only with kvm_intel or kvm_amd and a writable /dev/kvm, else TCG emulation; `KVM` or `TCG` forces one (docs/adr/0001)")
    Accelerator.Choice accelerator,
    @ConfigDoc("the QEMU system emulator started for every VM: a name on PATH or a path")
    String qemuBinary,
    @ConfigDoc("unprivileged user QEMU runs as (the installer creates kiln-vmm); `\"\"` runs it as the daemon's own user, for development only")
    String vmmUser,
    @ConfigDoc(value = "how long a new VM may take to answer the agent's handshake; a cold boot under TCG takes ~3-4 s idle, the rest is room for a loaded host", range = "1..3600")
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
    NetworkConfig network) {

  public KilnConfig {
    if (dataDir == null) dataDir = Path.of("/var/lib/kiln");
    if (listen == null) listen = "127.0.0.1:7788";
    if (!listen.matches("[^:\\s]+:\\d{1,5}")) throw new IllegalArgumentException("listen must be host:port, got '" + listen + "'");
    if (guestArtifacts == null) guestArtifacts = Path.of("build/guest/current");
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
