package dev.kiln.vmm;

/**
 * What a live migration cost, as the source QEMU counted it: its whole time, how long the guest
 * stood still at the end, the bytes of the stream, the guest's RAM, and the passes over dirty
 * pages it took to converge.
 */
public record MigrationStats(long totalMillis, long downtimeMillis, long bytesSent, long ramBytes, long passes) {}
