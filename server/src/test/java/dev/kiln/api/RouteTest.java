package dev.kiln.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RouteTest {
  private final Route files = new Route("GET", "/v1/sandboxes/{id}/files", x -> {});

  @Test
  void extractsParameters() {
    assertEquals(Map.of("id", "sb-abc"), files.match("/v1/sandboxes/sb-abc/files").orElseThrow());
  }

  @Test
  void rejectsOtherShapes() {
    assertTrue(files.match("/v1/sandboxes//files").isEmpty());
    assertTrue(files.match("/v1/sandboxes/sb-abc/files/list").isEmpty());
    assertTrue(files.match("/v1/sandboxes/sb-abc/../files").isEmpty());
  }
}
