package dev.kiln.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The typed create options become exactly the API's create body (openapi.yaml, CreateSandbox). */
class CreateOptionsTest {
  @Test
  void onlyTheTemplateWhenNothingElseIsSet() {
    assertEquals(Map.of("template", "base"), CreateOptions.of("base").body());
  }

  @Test
  void everyFieldHasItsApiName() {
    CreateOptions o = CreateOptions.builder("py").ttl(Duration.ofMinutes(30)).onTimeout(CreateOptions.OnTimeout.PAUSE).vcpus(2).memoryMib(1024)
        .diskMib(4096).env("A", "1").metadata("team", "ml")
        .network(NetworkOptions.builder().mode(NetworkOptions.Mode.INTERNET).allowOut("example.com", "10.0.0.0/8").denyOut("evil.example.com")
            .group("app").isPublic(true).egressMbit(50).ingressMbit(100).build())
        .build();
    Map<String, Object> network = Map.of("mode", "internet", "allowOut", List.of("example.com", "10.0.0.0/8"), "denyOut", List.of("evil.example.com"),
        "group", "app", "public", true, "egressMbit", 50, "ingressMbit", 100);
    assertEquals(Map.of("template", "py", "timeoutSeconds", 1800L, "onTimeout", "pause", "vcpus", 2, "memoryMib", 1024, "diskMib", 4096,
        "env", Map.of("A", "1"), "metadata", Map.of("team", "ml"), "network", network), o.body());
  }

  @Test
  void aZeroTtlIsNoLimitAndANetworkWithoutModeLeavesItToTheDaemon() {
    CreateOptions o = CreateOptions.builder("base").ttl(Duration.ZERO).network(NetworkOptions.builder().allowOut(List.of("example.com")).build()).build();
    assertEquals(Map.of("template", "base", "timeoutSeconds", 0L, "network", Map.of("allowOut", List.of("example.com"))), o.body());
  }

  @Test
  void theValueIsImmutable() {
    Map<String, String> env = new HashMap<>(Map.of("A", "1"));
    CreateOptions o = CreateOptions.builder("base").env(env).build();
    env.put("B", "2");
    assertEquals(Map.of("A", "1"), o.env());
    assertThrows(UnsupportedOperationException.class, () -> o.env().put("C", "3"));
  }

  @Test
  void aTemplateIsRequired() {
    assertThrows(NullPointerException.class, () -> CreateOptions.of(null));
    IllegalArgumentException blank = assertThrows(IllegalArgumentException.class, () -> CreateOptions.of(" "));
    assertEquals("a sandbox needs a template name, got a blank one", blank.getMessage());
  }
}
