package dev.kiln.store;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One row of {@code sandboxes}; JSON columns are kept as text and owned by the sandbox package.
 *
 * @param nodeId the node that runs it; "" for a row written before nodes, until a node claims it
 * @param owner  the id of the API key that made it; "" for a row written before owners (only admins see it)
 */
public record SandboxRow(String id, String template, String state, int vcpus, long memoryMib, long timeoutSeconds,
    String envJson, String metadataJson, Optional<String> vmJson, OptionalLong pid, Optional<String> error,
    Instant createdAt, Optional<Instant> expiresAt, String onTimeout, String nodeId, String owner, int templateVersion) {
  /** A row of a sandbox made from no particular version (before versions, or in tests). */
  public SandboxRow(String id, String template, String state, int vcpus, long memoryMib, long timeoutSeconds, String envJson, String metadataJson,
      Optional<String> vmJson, OptionalLong pid, Optional<String> error, Instant createdAt, Optional<Instant> expiresAt, String onTimeout, String nodeId,
      String owner) {
    this(id, template, state, vcpus, memoryMib, timeoutSeconds, envJson, metadataJson, vmJson, pid, error, createdAt, expiresAt, onTimeout, nodeId, owner, 0);
  }

  /** This row in {@code state}, on the VM {@code vmJson} records, run by {@code pid}. */
  public SandboxRow onVm(String state, String vmJson, long pid) {
    return new SandboxRow(id, template, state, vcpus, memoryMib, timeoutSeconds, envJson, metadataJson, Optional.of(vmJson), OptionalLong.of(pid), error,
        createdAt, expiresAt, onTimeout, nodeId, owner, templateVersion);
  }

  /** The template version it was made from, as users name it: NAME:VERSION (NAME for none). */
  public String templateRef() {
    return templateVersion > 0 ? template + ":" + templateVersion : template;
  }

  /**
   * Its TTL has passed and there is something to do: a sandbox being deleted is left to that
   * delete, and a paused one that pauses on timeout is paused already.
   */
  public boolean expiryDue(Instant now) {
    if (expiresAt.isEmpty() || expiresAt.get().isAfter(now)) return false;
    if (state.equals("STOPPING")) return false;
    return !(state.equals("PAUSED") && onTimeout.equals("PAUSE"));
  }
}
