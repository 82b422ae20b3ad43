package dev.kiln.store;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/** Rows the store tests insert. */
final class Rows {
  static final Instant NOW = Instant.ofEpochMilli(1_700_000_000_000L);

  private Rows() {}

  static TemplateRow template(String name) {
    return new TemplateRow(name, "READY", "dir:/x", Optional.of("/x.ext4"), OptionalLong.of(10), Optional.empty(), NOW, NOW, Optional.empty(),
        Optional.of("{}"), 256, "MICROVM", "");
  }

  static SandboxRow sandbox(String id, String state, Instant createdAt) {
    return sandboxOn(id, state, createdAt, "");
  }

  static SandboxRow sandboxOn(String id, String state, Instant createdAt, String node) {
    return owned(id, state, createdAt, node, "");
  }

  static SandboxRow owned(String id, String state, Instant createdAt, String node, String owner) {
    return new SandboxRow(id, "t", state, 1, 256, 300, "{}", "{\"team\":\"a\"}", Optional.of("{\"vm\":1}"), OptionalLong.of(42), Optional.empty(),
        createdAt, Optional.of(createdAt.plusSeconds(300)), "DELETE", node, owner);
  }

  static ApiKeyRow key(String id, String role, OptionalLong maxSandboxes, OptionalLong maxVcpus, OptionalLong maxMemoryMib, OptionalLong maxTemplates) {
    return new ApiKeyRow(id, "key " + id, role, "kiln_" + id, NOW, Optional.empty(), maxSandboxes, maxVcpus, maxMemoryMib, maxTemplates);
  }
}
