package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * One host is a cluster of one combined node: it registers itself, reports its capacity and
 * running sandboxes, and a cordon stops new sandboxes (a 503 saying how to lift it) while the
 * running ones keep serving. Through the API and the CLI as a real process. Real VMs under TCG.
 */
@Tag("system")
class NodesSystemTest extends OneHostTest {
  private static JsonNode onlyNode() throws Exception {
    JsonNode nodes = host.call("GET", "/v1/nodes", null).json().path("nodes");
    assertEquals(1, nodes.size(), nodes.toString());
    return nodes.get(0);
  }

  @Test
  void theHostIsOneCombinedNodeThatCanBeCordoned() throws Exception {
    JsonNode node = onlyNode();
    String id = node.path("id").asText();
    assertTrue(id.matches("nd-[a-z0-9]{16}"), node.toString());
    assertEquals("combined", node.path("role").asText());
    assertEquals("up", node.path("state").asText());
    assertTrue(node.path("acceptsSandboxes").asBoolean());
    assertTrue(node.path("capacity").path("vcpus").asInt() >= 1 && node.path("capacity").path("memoryMib").asLong() >= 128, node.toString());
    assertTrue(node.path("url").asText().endsWith(":" + java.net.URI.create(host.base).getPort()), node.toString());

    TestHost.Reply missing = host.call("GET", "/v1/nodes/nd-nosuchnode0000000", null);
    assertEquals(404, missing.status(), missing.raw());
    assertEquals("NODE_NOT_FOUND", missing.json().path("error").path("code").asText());

    String running = host.createSandbox();
    // The next heartbeat (every 5 s) reports it, and the template built after the daemon started.
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(250)).until(() -> onlyNode().path("sandboxes").asInt() == 1
        && onlyNode().path("templates").toString().equals("[\"" + TestHost.TEMPLATE + "\"]"));

    CliProcess.Run cordon = CliProcess.run(Map.of("KILN_URL", host.base, "KILN_API_KEY", host.key), null, "node", "cordon", id, "-o", "json");
    assertEquals(0, cordon.exit(), cordon.err());
    assertTrue(cordon.out().contains("\"cordoned\" : true") || cordon.out().contains("\"cordoned\":true"), cordon.out());
    TestHost.Reply refused = host.call("POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE));
    assertEquals(503, refused.status(), refused.raw());
    assertEquals("NO_NODE_AVAILABLE", refused.json().path("error").path("code").asText());
    assertTrue(refused.json().path("error").path("message").asText().contains("kiln node uncordon " + id), refused.raw());
    TestHost.Reply exec = host.call("POST", "/v1/sandboxes/" + running + "/exec", Map.of("command", "echo still"));
    assertEquals("still\n", exec.json().path("stdout").asText(), "what runs on a cordoned node keeps running");

    CliProcess.Run list = CliProcess.run(Map.of("KILN_URL", host.base, "KILN_API_KEY", host.key), null, "node", "list");
    assertEquals(0, list.exit(), list.err());
    assertTrue(list.out().contains(id) && list.out().contains("combined") && list.out().contains("true"), list.out());

    JsonNode cluster = host.call("GET", "/v1/cluster", null).json();
    assertEquals(1, cluster.path("nodes").path("cordoned").asInt(), cluster.toString());
    assertEquals(0, cluster.path("capacity").path("vcpus").asInt(), "a cordoned node's capacity is not offered: " + cluster);
    CliProcess.Run status = CliProcess.run(Map.of("KILN_URL", host.base, "KILN_API_KEY", host.key), null, "cluster", "status");
    assertEquals(0, status.exit(), status.err());
    assertTrue(status.out().startsWith("nodes      1 (1 up, 0 down, 1 cordoned)"), status.out());
    // The liveness job is led by this host's node (it checks every second).
    await().atMost(Duration.ofSeconds(10)).until(() -> host.call("GET", "/v1/cluster", null).json().path("leaders").toString().contains(id));

    assertEquals(200, host.call("POST", "/v1/nodes/" + id + "/uncordon", null).status());
    String after = host.createSandbox();
    for (String s : new String[] {running, after}) assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + s, null).status());
  }
}
