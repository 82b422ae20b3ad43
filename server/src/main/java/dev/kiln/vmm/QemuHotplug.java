package dev.kiln.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CPU and memory hot-plug on a q35 VM over QMP: vCPUs with {@code device_add} of the CPU model
 * {@code query-hotpluggable-cpus} names for each free slot, memory as one RAM backend and one
 * {@code pc-dimm} per request. Each returns the spec the VM has now, which a restore must be given.
 * Only growth: unplugging needs the guest's cooperation (offlining, ejecting) and fails whenever a
 * page of the DIMM is pinned, so shrinking is refused rather than done unreliably.
 */
final class QemuHotplug {
  private static final Duration QMP_TIMEOUT = Duration.ofSeconds(30);
  private static final List<String> TOPOLOGY = List.of("socket-id", "die-id", "core-id", "thread-id");

  private QemuHotplug() {}

  /** Refuses a vCPU count the VM cannot reach by hot-adding. */
  static void checkVcpus(VmSpec spec, int vcpus) throws VmmException {
    Hotplug room = room(spec);
    if (vcpus < spec.vcpus()) throw new VmmException("vm " + spec.name() + " cannot give up vCPUs (it has " + spec.vcpus() + "): CPUs are only hot-added");
    if (vcpus > room.maxVcpus()) {
      throw new VmmException("vm " + spec.name() + " was started with room for " + room.maxVcpus() + " vCPUs, not " + vcpus);
    }
  }

  /**
   * Plugs one vCPU into the lowest free slot, so the CPUs present are always the first N: what
   * {@code -smp N} starts on restore. One at a time, so that a failure leaves a spec that says
   * exactly which CPUs are in.
   */
  static VmSpec addVcpu(VmSpec spec, QmpClient qmp) throws VmmException, InterruptedException {
    Hotplug room = room(spec);
    List<JsonNode> free = new ArrayList<>();
    for (JsonNode slot : qmp.execute("query-hotpluggable-cpus", null, QMP_TIMEOUT)) {
      if (!slot.has("qom-path")) free.add(slot);
    }
    JsonNode slot = free.stream().min(Comparator.comparingLong(QemuHotplug::topologyKey))
        .orElseThrow(() -> new VmmException("vm " + spec.name() + " has no free CPU slot beyond " + spec.vcpus() + " vCPUs"));
    Map<String, Object> args = new LinkedHashMap<>();
    args.put("driver", slot.path("type").asText());
    args.put("id", "cpu" + spec.vcpus());
    slot.path("props").properties().forEach(p -> args.put(p.getKey(), p.getValue().asLong()));
    qmp.execute("device_add", args, QMP_TIMEOUT);
    return spec.grown(spec.vcpus() + 1, room);
  }

  static VmSpec setMemoryMib(VmSpec spec, QmpClient qmp, long memoryMib) throws VmmException, InterruptedException {
    Hotplug room = room(spec);
    long now = spec.totalMemoryMib();
    if (memoryMib == now) return spec;
    if (memoryMib < now) throw new VmmException("vm " + spec.name() + " cannot give up memory (it has " + now + " MiB): memory is only hot-added");
    if (memoryMib > room.maxMemoryMib()) {
      throw new VmmException("vm " + spec.name() + " was started with room for " + room.maxMemoryMib() + " MiB of memory, not " + memoryMib);
    }
    long dimm = memoryMib - now;
    if (dimm % Hotplug.DIMM_ALIGN_MIB != 0) {
      throw new VmmException("memory is hot-added in steps of " + Hotplug.DIMM_ALIGN_MIB + " MiB; " + now + " → " + memoryMib + " MiB is not one");
    }
    int i = room.dimmsMib().size();
    if (i == Hotplug.SLOTS) throw new VmmException("vm " + spec.name() + " has used all " + Hotplug.SLOTS + " memory slots");
    String backend = QemuCommandLine.dimmBackend(i);
    qmp.execute("object-add", Map.of("qom-type", "memory-backend-ram", "id", backend, "size", dimm << 20), QMP_TIMEOUT);
    try {
      qmp.execute("device_add", Map.of("driver", "pc-dimm", "id", QemuCommandLine.dimmDevice(i), "memdev", backend), QMP_TIMEOUT);
    } catch (VmmException e) {
      qmp.execute("object-del", Map.of("id", backend), QMP_TIMEOUT);
      throw e;
    }
    return spec.grown(spec.vcpus(), room.plus(dimm));
  }

  private static Hotplug room(VmSpec spec) throws VmmException {
    if (spec.machine() != Machine.Q35) throw new VmmException(spec.machine().wire() + " machines cannot hot-plug CPUs or memory");
    return spec.hotplug().orElseThrow(() -> new VmmException("vm " + spec.name() + " was started without room to hot-plug CPUs or memory"));
  }

  private static long topologyKey(JsonNode slot) {
    long key = 0;
    for (String p : TOPOLOGY) key = key * 256 + slot.path("props").path(p).asLong(0);
    return key;
  }
}
