package dev.kiln.sandbox;

/** A live migration under way on the sandbox's node: where to, which phase (disk, memory, commit), and how far the RAM copy is. */
public record MigrationProgress(String migrationId, String toNode, String phase, long sentBytes, long remainingBytes) {}
