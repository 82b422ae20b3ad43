package dev.kiln.store;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One row of {@code templates}; {@code machine} is a {@code vmm.Machine} name.
 *
 * @param owner the user key that built it; "" for the operator's, which every key may use
 */
public record TemplateRow(String name, String status, String source, Optional<String> rootfsPath, OptionalLong rootfsBytes,
    Optional<String> error, Instant createdAt, Instant updatedAt, Optional<String> imageDigest, Optional<String> configJson,
    long freeSpaceMib, String machine, String owner) {}
