package dev.kiln.sandbox;

import java.time.Duration;

/**
 * A finished command. {@code exitCode} is -1 when a signal killed it or it timed out. Output beyond
 * the collection limit is dropped (the command still runs to its end) and flagged as truncated.
 */
public record ExecOutcome(int exitCode, int signal, boolean timedOut, byte[] stdout, byte[] stderr, boolean stdoutTruncated,
    boolean stderrTruncated, Duration duration, Duration cpu, long peakRssKib) {}
