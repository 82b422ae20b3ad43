package dev.kiln.agent;

import java.time.Duration;
import java.time.temporal.ChronoUnit;

/**
 * How a guest process ended. {@code exitCode} is the process's code, or -1 when a signal killed it
 * ({@code signal} is then nonzero). CPU time and peak RSS are the direct child's, from wait4().
 */
public record ExitStatus(int exitCode, int signal, boolean timedOut, Duration userCpu, Duration systemCpu, long peakRssKib) {
  static ExitStatus decode(PayloadReader r) throws ProtocolException {
    int kind = r.u8();
    int value = r.i32();
    int timedOut = r.u8();
    long userUs = r.u64();
    long sysUs = r.u64();
    long rss = r.u64();
    if (kind > 1) throw new ProtocolException("EXIT kind " + kind + " is not 0 (exited) or 1 (signaled)");
    if (timedOut > 1) throw new ProtocolException("EXIT timed_out " + timedOut + " is not a boolean");
    Duration user = Duration.of(userUs, ChronoUnit.MICROS);
    Duration sys = Duration.of(sysUs, ChronoUnit.MICROS);
    return kind == 0
        ? new ExitStatus(value, 0, timedOut == 1, user, sys, rss)
        : new ExitStatus(-1, value, timedOut == 1, user, sys, rss);
  }

  public Duration cpu() {
    return userCpu.plus(systemCpu);
  }
}
