package dev.kiln.sandbox;

import java.time.Instant;

/**
 * What one sandbox uses on its host now. CPU and memory are its QEMU's control group's (-1 where
 * the host has none, and for a sandbox with no VM running 0); disk is what counts against its disk
 * quota (its writable layer, the layers its checkpoints froze and their states, its paused state); network bytes are counted on the host side of its link
 * (-1 without a network).
 */
public record SandboxUsage(String id, String state, Instant at, double cpuSeconds, long memoryBytes, long memoryLimitBytes, long diskBytes,
    long networkRxBytes, long networkTxBytes) {}
