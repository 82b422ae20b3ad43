package dev.kiln.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Facts read off the host kernel once, at daemon start. */
public final class HostFacts {
  private static final Pattern DMESG_TSC = Pattern.compile("tsc: (?:Refined TSC clocksource calibration|Detected): (\\d+)\\.(\\d{3})\\d* MHz");
  private static final Pattern CPUINFO_MHZ = Pattern.compile("(?m)^cpu MHz\\s*:\\s*(\\d+)\\.(\\d{3})");
  private static final Pattern MEMTOTAL = Pattern.compile("(?m)^MemTotal:\\s+(\\d+) kB");

  private HostFacts() {}

  /** Which hardware-virtualization module the host kernel has loaded, if any. */
  public enum KvmModule { INTEL, AMD, PVM, NONE }

  public static KvmModule kvmModule(Path sysModule) {
    if (Files.isDirectory(sysModule.resolve("kvm_intel"))) return KvmModule.INTEL;
    if (Files.isDirectory(sysModule.resolve("kvm_amd"))) return KvmModule.AMD;
    if (Files.isDirectory(sysModule.resolve("kvm_pvm"))) return KvmModule.PVM;
    return KvmModule.NONE;
  }

  /**
   * The host TSC frequency in kHz. Under TCG the guest TSC runs at the host rate, and a guest on
   * the microvm machine (no HPET, no PM timer, no PIT port 0x61) hangs calibrating it unless told
   * the rate with {@code tsc_early_khz=}. The refined calibration from the kernel log is the most
   * precise source; /proc/cpuinfo's "cpu MHz" is the fallback.
   */
  public static OptionalLong tscKhz() {
    try {
      var r = CommandRunner.runAllowingFailure(List.of("dmesg"), Duration.ofSeconds(5));
      Optional<Long> fromDmesg = lastMatchKhz(DMESG_TSC.matcher(r.stdout()));
      if (fromDmesg.isPresent()) return OptionalLong.of(fromDmesg.get());
    } catch (CommandException e) {
      // dmesg may be missing or restricted; cpuinfo below is good enough.
    }
    try {
      Optional<Long> fromCpuinfo = lastMatchKhz(CPUINFO_MHZ.matcher(Files.readString(Path.of("/proc/cpuinfo"))));
      return fromCpuinfo.map(OptionalLong::of).orElse(OptionalLong.empty());
    } catch (IOException e) {
      return OptionalLong.empty();
    }
  }

  private static Optional<Long> lastMatchKhz(Matcher m) {
    Long khz = null;
    while (m.find()) {
      khz = Long.parseLong(m.group(1)) * 1000 + Long.parseLong(m.group(2));
    }
    return Optional.ofNullable(khz);
  }

  public static long memoryTotalBytes() {
    try {
      Matcher m = MEMTOTAL.matcher(Files.readString(Path.of("/proc/meminfo")));
      return m.find() ? Long.parseLong(m.group(1)) * 1024 : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  /** A number a kernel file (sysfs, cgroupfs) holds; empty if it is missing or not a number ("max"). */
  public static java.util.OptionalLong readLong(java.nio.file.Path file) {
    try {
      String s = java.nio.file.Files.readString(file).strip();
      return s.matches("\\d{1,19}") ? java.util.OptionalLong.of(Long.parseLong(s)) : java.util.OptionalLong.empty();
    } catch (java.io.IOException e) {
      return java.util.OptionalLong.empty();
    }
  }
}
