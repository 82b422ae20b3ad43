package dev.kiln.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.vmm.Machine;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** JSON request bodies as the API accepts them; absent fields are null and get defaults downstream. */
final class Bodies {
  private Bodies() {}

  record CreateSandbox(String template, Long timeoutSeconds, Integer vcpus, Integer memoryMib, Map<String, String> env,
      Map<String, String> metadata, String onTimeout, Network network, Long diskMib, String machine, String node, Map<String, String> nodeSelector) {}

  /** PATCH /v1/sandboxes/{id}: a running q35 sandbox's new size; absent fields keep their value. */
  record Resize(Integer vcpus, Long memoryMib) {}

  /** A sandbox's network at create; mode "none" or "internet", the rest refines internet. */
  record Network(String mode, List<String> allowOut, List<String> denyOut, String group,
      @JsonProperty("public") Boolean isPublic, Integer egressMbit, Integer ingressMbit) {}

  /** PUT …/network: the rules that can change while the sandbox runs; absent fields keep their value. */
  record NetworkRules(List<String> allowOut, List<String> denyOut, Integer egressMbit, Integer ingressMbit) {}

  record Forward(Integer guestPort, Integer hostPort) {}

  /**
   * @param timeoutSeconds the command timeout; absent = 60 s, 0 = none
   * @param user           "root", a user name from the guest's /etc/passwd, or "uid[:gid]"
   */
  record Exec(List<String> argv, String command, Map<String, String> env, String cwd, String user, Long timeoutSeconds) {}

  record SetTimeout(Long timeoutSeconds) {}

  /**
   * @param timeoutSeconds the command timeout; absent or 0 = none (background processes are often servers)
   * @param stdin          keep stdin open for POST …/stdin; otherwise it is /dev/null
   * @param keepAliveSeconds how long it runs on once no client follows or reads its output; absent or 0 = until it exits
   */
  record StartProcess(List<String> argv, String command, Map<String, String> env, String cwd, String user, Long timeoutSeconds,
      Boolean stdin, TerminalSize pty, Long keepAliveSeconds, Boolean login) {}

  /** A pseudo-terminal's size; on a process it means "run it on a terminal" (its stdin is then open). */
  record TerminalSize(Integer rows, Integer cols) {
    dev.kiln.agent.TerminalSize toSize() {
      if (rows == null || cols == null) throw new IllegalArgumentException("a terminal size needs 'rows' and 'cols'");
      return new dev.kiln.agent.TerminalSize(rows, cols);
    }
  }

  /** A signal number, or a name such as "SIGINT" or "INT". */
  record Signal(Object signal) {}

  record CreateCheckpoint(String name) {}

  /** {@code parents} (default true) creates missing parents and accepts an existing directory, like mkdir -p. */
  record Mkdir(String path, String mode, Boolean parents) {}

  /** Replaces {@code to} if it exists, as rename(2) does. */
  record Rename(String from, String to) {}

  /** {@code checkpoint} absent: fork the live sandbox. */
  record Fork(Integer count, String checkpoint, String node) {}

  /** A live migration: to the node named (id or name), or where placement puts it; QEMU's downtime limit and the link's cap. */
  record Migrate(String node, Integer maxDowntimeMs, Integer maxBandwidthMiBps) {
    /** QEMU's own default: the guest stands still at most this long for the last pass. */
    static final int DEFAULT_DOWNTIME_MS = 300;
    /** QEMU's default cap (128 MiB/s) is for shared links; a cluster's own network takes more. */
    static final int DEFAULT_BANDWIDTH_MIBPS = 1024;
    static final java.time.Duration TIMEOUT = java.time.Duration.ofMinutes(10);

    dev.kiln.vmm.MigrationSettings settings() {
      return settings(maxDowntimeMs, maxBandwidthMiBps);
    }

    static dev.kiln.vmm.MigrationSettings settings(Integer maxDowntimeMs, Integer maxBandwidthMiBps) {
      int downtime = maxDowntimeMs == null ? DEFAULT_DOWNTIME_MS : maxDowntimeMs;
      int mibps = maxBandwidthMiBps == null ? DEFAULT_BANDWIDTH_MIBPS : maxBandwidthMiBps;
      if (downtime < 1 || downtime > 60_000) throw new KilnException(ErrorCode.INVALID_REQUEST, "maxDowntimeMs must be 1..60000, got " + downtime);
      if (mibps < 1 || mibps > 100_000) throw new KilnException(ErrorCode.INVALID_REQUEST, "maxBandwidthMiBps must be 1..100000, got " + mibps);
      return new dev.kiln.vmm.MigrationSettings(java.time.Duration.ofMillis(downtime), (long) mibps << 20, TIMEOUT);
    }
  }

  /** A drain: how many sandboxes move at once, and each live migration's limits. */
  record Drain(Integer parallel, Integer maxDowntimeMs, Integer maxBandwidthMiBps) {
    static final int DEFAULT_PARALLEL = 2;

    int parallelOrDefault() {
      return parallel == null ? DEFAULT_PARALLEL : parallel;
    }
  }

  record PoolSize(Integer minReady, Integer maxReady) {}

  /** Exactly one of image (a registry reference, or oci:/path[:tag]) and directory. */
  record BuildTemplate(String name, String image, String directory, Long freeSpaceMib, RegistryCredentials credentials, String machine) {}

  record RegistryCredentials(String username, String password) {}

  /** POST /v1/keys: role "user" (the default) or "admin"; absent limits are none. */
  record CreateKey(String name, String role, Long maxSandboxes, Long maxVcpus, Long maxMemoryMib, Long maxTemplates) {}

  /** The field {@code machine} of a body, if given. */
  static Optional<Machine> machine(String s) {
    if (s == null) return Optional.empty();
    try {
      return Optional.of(Machine.fromWire(s));
    } catch (IllegalArgumentException e) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'machine' must be \"microvm\" or \"q35\", got \"" + s + "\"");
    }
  }
}
