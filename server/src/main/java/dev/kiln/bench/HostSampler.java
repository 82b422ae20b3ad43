package dev.kiln.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * What the host's /proc says about memory and CPU: the machine's available memory and busy time,
 * and the PSS, RSS and CPU time of the QEMU processes whose command line names a directory.
 * Processes that exit while being read are skipped.
 */
final class HostSampler {
  /** USER_HZ: the unit of /proc's CPU times on every Linux architecture Kiln runs on. */
  static final int TICKS_PER_SECOND = 100;
  private final Path proc;

  HostSampler(Path proc) {
    this.proc = proc;
  }

  /** Memory and CPU time of a set of processes at one moment. */
  record Processes(int count, long pssKib, long rssKib, long cpuTicks) {}

  /** The machine's busy and total CPU time so far, in ticks, summed over its CPUs. */
  record CpuTime(long busy, long total) {
    /** The share of the machine's CPU busy between {@code earlier} and this, 0..1. */
    double busySince(CpuTime earlier) {
      long t = total - earlier.total;
      return t <= 0 ? 0 : (double) (busy - earlier.busy) / t;
    }
  }

  /** The 1-minute load average: runnable and uninterruptible tasks. */
  double loadAverage() throws IOException {
    String[] f = Files.readString(proc.resolve("loadavg"), StandardCharsets.US_ASCII).trim().split("\\s+");
    return Double.parseDouble(f[0]);
  }

  long memAvailableKib() throws IOException {
    return meminfo("MemAvailable:");
  }

  long memTotalKib() throws IOException {
    return meminfo("MemTotal:");
  }

  private long meminfo(String field) throws IOException {
    for (String line : Files.readAllLines(proc.resolve("meminfo"), StandardCharsets.US_ASCII)) {
      if (line.startsWith(field)) return firstNumber(line.substring(field.length())).orElseThrow(() -> new IOException("unreadable " + line));
    }
    throw new IOException(proc.resolve("meminfo") + " has no " + field);
  }

  CpuTime cpuTime() throws IOException {
    String first = Files.readAllLines(proc.resolve("stat"), StandardCharsets.US_ASCII).getFirst();
    String[] f = first.trim().split("\\s+");
    // cpu user nice system idle iowait irq softirq steal ...
    long total = 0;
    for (int i = 1; i < f.length && i <= 8; i++) total += Long.parseLong(f[i]);
    long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
    return new CpuTime(total - idle, total);
  }

  /** The processes whose command line contains {@code marker}, e.g. a daemon's data directory in its QEMUs' arguments. */
  Processes processes(String marker) throws IOException {
    int count = 0;
    long pss = 0, rss = 0, ticks = 0;
    for (Path p : pids()) {
      try {
        String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
        if (!cmdline.startsWith("qemu-system") && !cmdline.contains("/qemu-system") || !cmdline.contains(marker)) continue;
        long[] mem = smapsRollup(p);
        long cpu = cpuTicks(p);
        count++;
        pss += mem[0];
        rss += mem[1];
        ticks += cpu;
      } catch (NoSuchFileException e) {
        // it exited while being read
      }
    }
    return new Processes(count, pss, rss, ticks);
  }

  private List<Path> pids() throws IOException {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(proc)) {
      s.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(out::add);
    }
    return out;
  }

  /** {Pss, Rss} in KiB from smaps_rollup. */
  private static long[] smapsRollup(Path pid) throws IOException {
    long[] out = new long[2];
    for (String line : Files.readAllLines(pid.resolve("smaps_rollup"), StandardCharsets.US_ASCII)) {
      if (line.startsWith("Pss:")) out[0] = firstNumber(line.substring(4)).orElse(0);
      else if (line.startsWith("Rss:")) out[1] = firstNumber(line.substring(4)).orElse(0);
    }
    return out;
  }

  /** utime + stime from /proc/PID/stat; the command name in parentheses may hold spaces, so fields count from its closing one. */
  static long cpuTicks(String stat) {
    int close = stat.lastIndexOf(')');
    if (close < 0) return 0;
    String[] f = stat.substring(close + 1).trim().split("\\s+");
    // after ")": state(0) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(11) stime(12)
    if (f.length < 13) return 0;
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  private static long cpuTicks(Path pid) throws IOException {
    return cpuTicks(Files.readString(pid.resolve("stat"), StandardCharsets.US_ASCII));
  }

  static OptionalLong firstNumber(String s) {
    String t = s.trim();
    int end = 0;
    while (end < t.length() && Character.isDigit(t.charAt(end))) end++;
    if (end == 0 || end > 18) return OptionalLong.empty();
    return OptionalLong.of(Long.parseLong(t.substring(0, end)));
  }
}
