package dev.kiln.image.layer;

/**
 * What applying one layer did: {@code entries} tar entries read (whiteouts included),
 * {@code bytes} of regular file content written, {@code whiteouts} whiteout and opaque markers
 * acted on.
 */
public record LayerStats(long entries, long bytes, long whiteouts) {}
