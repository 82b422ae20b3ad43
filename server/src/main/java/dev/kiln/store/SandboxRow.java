package dev.kiln.store;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/** One row of {@code sandboxes}; JSON columns are kept as text and owned by the sandbox package. */
public record SandboxRow(String id, String template, String state, int vcpus, long memoryMib, long timeoutSeconds,
    String envJson, String metadataJson, Optional<String> vmJson, OptionalLong pid, Optional<String> error,
    Instant createdAt, Optional<Instant> expiresAt, String onTimeout) {}
