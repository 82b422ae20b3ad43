package dev.kiln.sandbox;

import dev.kiln.net.NetworkSpec;
import dev.kiln.vmm.Machine;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * A request for a new sandbox. Absent fields take the daemon's defaults.
 *
 * @param timeoutSeconds the sandbox TTL: after this long {@code onTimeout} happens; 0 means no limit
 * @param env            environment added to every exec in the sandbox
 * @param onTimeout      what the TTL does: delete the sandbox, or pause it (with a fresh TTL once resumed)
 * @param network        its network; empty takes the daemon's default mode with no further rules
 * @param diskMib        its root disk's size; empty = the template's (the filesystem is grown online to fill it)
 * @param machine        the VM's machine; empty = microvm. q35 can hot-plug CPUs and memory (PATCH), and boots (no template snapshot)
 * @param owner          the id of the API key it is made for: it counts against that key's limits; "" (the daemon's own) has none
 */
public record CreateSandbox(String template, OptionalLong timeoutSeconds, OptionalInt vcpus, OptionalInt memoryMib,
    Map<String, String> env, Map<String, String> metadata, Optional<BootOverride> boot, OnTimeout onTimeout, Optional<NetworkSpec> network, OptionalLong diskMib,
    Optional<Machine> machine, String owner) {
  public enum OnTimeout { DELETE, PAUSE }

  public CreateSandbox(String template, OptionalLong timeoutSeconds, OptionalInt vcpus, OptionalInt memoryMib, Map<String, String> env,
      Map<String, String> metadata, Optional<BootOverride> boot, OnTimeout onTimeout, Optional<NetworkSpec> network, OptionalLong diskMib) {
    this(template, timeoutSeconds, vcpus, memoryMib, env, metadata, boot, onTimeout, network, diskMib, Optional.empty(), "");
  }

  public CreateSandbox(String template, OptionalLong timeoutSeconds, OptionalInt vcpus, OptionalInt memoryMib,
      Map<String, String> env, Map<String, String> metadata, Optional<BootOverride> boot) {
    this(template, timeoutSeconds, vcpus, memoryMib, env, metadata, boot, OnTimeout.DELETE, Optional.empty(), OptionalLong.empty());
  }

  public CreateSandbox {
    if (onTimeout == null) onTimeout = OnTimeout.DELETE;
    if (network == null) network = Optional.empty();
    if (diskMib == null) diskMib = OptionalLong.empty();
    if (machine == null) machine = Optional.empty();
    if (owner == null) owner = "";
    env = env == null ? Map.of() : Map.copyOf(env);
    metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    if (metadata.size() > 64) throw new IllegalArgumentException("at most 64 metadata entries, got " + metadata.size());
    metadata.forEach((k, v) -> {
      if (k.length() > 128 || v.length() > 1024) throw new IllegalArgumentException("metadata keys are at most 128 and values 1024 characters");
    });
  }

  public CreateSandbox withNetwork(NetworkSpec n) {
    return new CreateSandbox(template, timeoutSeconds, vcpus, memoryMib, env, metadata, boot, onTimeout, Optional.of(n), diskMib, machine, owner);
  }

  public static CreateSandbox of(String template) {
    return new CreateSandbox(template, OptionalLong.empty(), OptionalInt.empty(), OptionalInt.empty(), Map.of(), Map.of(), Optional.empty());
  }

  /** Test-only boot variants that the API does not expose. */
  public enum BootOverride { HOSTILE_AGENT }
}
