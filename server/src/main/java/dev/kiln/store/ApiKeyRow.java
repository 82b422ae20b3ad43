package dev.kiln.store;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One row of {@code api_keys}, without its hash. {@code role} is an {@code access.Role} name; an
 * empty limit is no limit.
 *
 * @param prefix the key's first characters, to tell keys apart in a list
 */
public record ApiKeyRow(String id, String name, String role, String prefix, Instant createdAt, Optional<Instant> revokedAt,
    OptionalLong maxSandboxes, OptionalLong maxVcpus, OptionalLong maxMemoryMib, OptionalLong maxTemplates) {}
