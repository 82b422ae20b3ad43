package dev.kiln.sandbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.GuestMemory;
import dev.kiln.vmm.VmSpec;
import java.util.Optional;
import java.nio.file.Path;

/** A VmSpec as stored in the sandbox row, so a restarted daemon can re-adopt the exact VM. */
record VmRecord(String name, String runDir, String kernel, String initrd, String cmdline, String rootDisk, int vcpus,
    long memoryMib, String accelerator, String memoryFile, String memoryMode, String netns, String tap, String mac) {
  private static final ObjectMapper JSON = new ObjectMapper();

  static String toJson(VmSpec s) {
    try {
      return JSON.writeValueAsString(new VmRecord(s.name(), s.runDir().toString(), s.kernel().toString(), s.initrd().toString(),
          s.kernelCmdline(), s.rootDisk().toString(), s.vcpus(), s.memoryMib(), s.accelerator().name(),
          s.memory().map(m -> m.file().toString()).orElse(null), s.memory().map(m -> m.mode().name()).orElse(null),
          s.nic().map(VmSpec.Nic::netns).orElse(null), s.nic().map(VmSpec.Nic::tap).orElse(null), s.nic().map(VmSpec.Nic::mac).orElse(null)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("VmSpec is always serializable", e);
    }
  }

  static VmSpec fromJson(String json) throws JsonProcessingException {
    VmRecord r = JSON.readValue(json, VmRecord.class);
    Optional<GuestMemory> memory = r.memoryFile == null ? Optional.empty()
        : Optional.of(new GuestMemory(Path.of(r.memoryFile), GuestMemory.Mode.valueOf(r.memoryMode)));
    return new VmSpec(r.name, Path.of(r.runDir), Path.of(r.kernel), Path.of(r.initrd), r.cmdline, Path.of(r.rootDisk), r.vcpus,
        r.memoryMib, Accelerator.valueOf(r.accelerator), memory,
        r.netns == null ? Optional.empty() : Optional.of(new VmSpec.Nic(r.netns, r.tap, r.mac)));
  }
}
