package dev.kiln.store;

import java.time.Instant;

/** One row of {@code checkpoints}; {@code vmJson} is the sandbox's VM as it was when the checkpoint was taken. */
public record CheckpointRow(String id, String sandboxId, String name, String diskPath, long stateBytes, String stateSha256, String vmJson,
    Instant createdAt) {}
