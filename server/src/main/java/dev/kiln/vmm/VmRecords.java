package dev.kiln.vmm;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A {@link VmSpec} as the daemon persists it (in a sandbox's or checkpoint's row) so that a later
 * daemon can re-adopt or restore the exact VM. Opaque to its callers: only this class reads or
 * writes it. Versioned: {@code v} names the layout; a record without one is version 1 (written
 * before the field existed). Version 2 added the machine and its hot-plug room (a version 1
 * record is a microvm without any). Version 3 added {@code legacyPit}: a record of an
 * earlier version is of a microvm that had the PIT (VmSpec.LAYOUT 1). A newer daemon reads every older version; an older daemon
 * refuses a newer one rather than guess.
 */
public final class VmRecords {
  /** The version this daemon writes. */
  static final int VERSION = 3;
  private static final ObjectMapper JSON = new ObjectMapper();

  @JsonIgnoreProperties(ignoreUnknown = false)
  private record Stored(Integer v, String name, String runDir, String kernel, String initrd, String cmdline, String rootDisk, int vcpus,
      long memoryMib, String accelerator, String memoryFile, String memoryMode, String netns, String tap, String mac, String machine,
      Hotplug hotplug, Boolean legacyPit) {}

  private VmRecords() {}

  public static String encode(VmSpec s) {
    try {
      return JSON.writeValueAsString(new Stored(VERSION, s.name(), s.runDir().toString(), s.kernel().toString(), s.initrd().toString(),
          s.kernelCmdline(), s.rootDisk().toString(), s.vcpus(), s.memoryMib(), s.accelerator().name(),
          s.memory().map(GuestMemory::file).map(Path::toString).orElse(null), s.memory().map(m -> m.mode().name()).orElse(null),
          s.nic().map(VmSpec.Nic::netns).orElse(null), s.nic().map(VmSpec.Nic::tap).orElse(null), s.nic().map(VmSpec.Nic::mac).orElse(null),
          s.machine().wire(), s.hotplug().orElse(null), s.legacyPit()));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a VmSpec is always serializable", e);
    }
  }

  public static VmSpec decode(String record) throws VmmException {
    Stored r;
    try {
      r = JSON.readValue(record, Stored.class);
    } catch (JsonProcessingException e) {
      throw new VmmException("unreadable VM record: " + e.getOriginalMessage(), e);
    }
    int version = r.v() == null ? 1 : r.v();
    if (version < 1) throw new VmmException("VM record version " + version + " does not exist");
    if (version > VERSION) throw new VmmException("VM record version " + version + " is newer than this daemon reads (" + VERSION + ")");
    try {
      Optional<GuestMemory> memory = r.memoryMode() == null ? Optional.empty()
          : Optional.of(new GuestMemory(r.memoryFile() == null ? null : Path.of(r.memoryFile()), GuestMemory.Mode.valueOf(r.memoryMode())));
      return new VmSpec(r.name(), Path.of(r.runDir()), Path.of(r.kernel()), Path.of(r.initrd()), r.cmdline(), Path.of(r.rootDisk()), r.vcpus(),
          r.memoryMib(), Accelerator.valueOf(r.accelerator()), memory,
          r.netns() == null ? Optional.empty() : Optional.of(new VmSpec.Nic(r.netns(), r.tap(), r.mac())),
          r.machine() == null ? Machine.MICROVM : Machine.fromWire(r.machine()), Optional.ofNullable(r.hotplug()),
          // Records before version 3 are of VMs of the first layout, which had the PIT.
          version < 3 || Boolean.TRUE.equals(r.legacyPit()));
    } catch (RuntimeException e) {
      throw new VmmException("VM record does not describe a VM: " + e.getMessage(), e);
    }
  }
}
