package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** GET /v1/capabilities: what the daemon found its QEMU can do, behind the API key like every route but /healthz. */
@Tag("system")
class CapabilitiesSystemTest extends OneHostTest {
  @Test
  void namesBothMachinesTheAcceleratorAndWhichMachineHotplugs() throws Exception {
    TestHost.Reply r = host.call("GET", "/v1/capabilities", null);
    assertEquals(200, r.status(), r.raw());
    JsonNode c = r.json();
    // This host's /dev/kvm is KVM-PVM, which the daemon does not use: VMs run under TCG.
    assertTrue(List.of("kvm", "tcg").contains(c.path("accelerator").asText()), r.raw());
    List<String> machines = new ArrayList<>();
    for (JsonNode m : c.path("machines")) {
      machines.add(m.path("name").asText());
      boolean q35 = m.path("name").asText().equals("q35");
      assertEquals(q35, m.path("cpuHotplug").asBoolean(), r.raw());
      assertEquals(q35, m.path("memoryHotplug").asBoolean(), r.raw());
    }
    assertEquals(List.of("microvm", "q35"), machines, "Debian's QEMU 7.2 offers both");
    assertTrue(c.path("memorySnapshots").asBoolean() && c.path("fork").asBoolean(), r.raw());
  }

  @Test
  void needsAKey() throws Exception {
    HttpResponse<String> r = host.http.send(HttpRequest.newBuilder(URI.create(host.base + "/v1/capabilities")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, r.statusCode());
    assertEquals("UNAUTHORIZED", TestHost.JSON.readTree(r.body()).path("error").path("code").asText());
  }
}
