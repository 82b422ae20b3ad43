package dev.kiln.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/** openapi.yaml is the contract: it must list exactly the routes the server serves. */
class OpenApiContractTest {
  private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch");

  @Test
  @SuppressWarnings("unchecked")
  void specAndRoutesAgree() throws Exception {
    Map<String, Object> spec;
    try (InputStream in = getClass().getResourceAsStream("/openapi.yaml")) {
      spec = (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromInputStream(in);
    }
    Set<String> documented = new TreeSet<>();
    ((Map<String, Object>) spec.get("paths")).forEach((path, ops) ->
        ((Map<String, Object>) ops).keySet().stream().filter(METHODS::contains).forEach(m -> documented.add(m.toUpperCase() + " " + path)));
    Set<String> served = new TreeSet<>();
    ApiServer.routeTable(null, null, null, null).forEach(r -> served.add(r.method() + " " + r.template()));
    assertEquals(served, documented);
  }
}
