package dev.kiln.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.error.ErrorCode;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/** openapi.yaml is the contract: it must list exactly the routes the server serves, and every error code with its status. */
class OpenApiContractTest {
  private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch");
  /** A status in the code description: "404: A, B" or "401 A". */
  private static final Pattern STATUS = Pattern.compile("\\b(\\d{3})(?=: | [A-Z])");

  @SuppressWarnings("unchecked")
  private Map<String, Object> spec() throws Exception {
    try (InputStream in = getClass().getResourceAsStream("/openapi.yaml")) {
      return (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromInputStream(in);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> at(Map<String, Object> node, String... keys) {
    for (String k : keys) node = (Map<String, Object>) node.get(k);
    return node;
  }

  @Test
  @SuppressWarnings("unchecked")
  void specAndRoutesAgree() throws Exception {
    Set<String> documented = new TreeSet<>();
    ((Map<String, Object>) spec().get("paths")).forEach((path, ops) ->
        ((Map<String, Object>) ops).keySet().stream().filter(METHODS::contains).forEach(m -> documented.add(m.toUpperCase() + " " + path)));
    Set<String> served = new TreeSet<>();
    ApiServer.routeTable(null, null, null, null, null, null, null, null, null).forEach(r -> served.add(r.method() + " " + r.template()));
    assertEquals(served, documented);
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyErrorCodeIsDocumentedUnderItsStatus() throws Exception {
    Map<String, Object> code = at(spec(), "components", "schemas", "Error", "properties", "error", "properties", "code");
    String description = (String) code.get("description");
    Set<String> codes = new TreeSet<>();
    for (ErrorCode c : ErrorCode.values()) {
      codes.add(c.name());
      int where = description.indexOf(c.name());
      assertTrue(where > 0, c + " is not in the code description");
      Matcher m = STATUS.matcher(description);
      String status = null;
      while (m.find() && m.start() < where) status = m.group(1);
      assertEquals(String.valueOf(HttpStatusOf.of(c)), status, c + " is listed under the wrong status");
    }
    assertEquals(codes, new TreeSet<>((List<String>) code.get("enum")));
  }
}
