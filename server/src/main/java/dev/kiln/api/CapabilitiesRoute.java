package dev.kiln.api;

import dev.kiln.vmm.VmmCapabilities;
import java.util.LinkedHashMap;
import java.util.Map;

/** /v1/capabilities: what this host's VMM can do, so a client can choose before it asks. */
final class CapabilitiesRoute {
  private CapabilitiesRoute() {}

  static Route route(VmmCapabilities capabilities) {
    return new Route("GET", "/v1/capabilities", x -> x.json(200, view(capabilities)));
  }

  static Map<String, Object> view(VmmCapabilities c) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("accelerator", c.accelerator().name().toLowerCase());
    m.put("machines", c.machines().stream().map(s -> {
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("name", s.machine().wire());
      v.put("cpuHotplug", s.cpuHotplug());
      v.put("memoryHotplug", s.memoryHotplug());
      return v;
    }).toList());
    m.put("memorySnapshots", c.memorySnapshots());
    m.put("fork", c.fork());
    return m;
  }
}
