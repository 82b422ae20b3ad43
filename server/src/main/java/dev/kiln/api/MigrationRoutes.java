package dev.kiln.api;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.MigrationOffer;
import dev.kiln.sandbox.MovedProcess;
import dev.kiln.sandbox.SandboxManager;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * The target side of a live migration over HTTP (docs/adr/0019): the steps another node drives,
 * only for callers holding this node's credential (another node read it from the store). Streams
 * (RAM, the top layer) are request bodies read to their end.
 */
final class MigrationRoutes {
  static final String PREPARE = "/internal/v1/migrations";
  static final String STEP = "/internal/v1/migrations/{migration}/";
  /** Processes with their kept output: bounded, as the scrollbacks they come from are. */
  private static final int MAX_PROCESSES_BODY = 256 << 20;

  private MigrationRoutes() {}

  static List<Route> routes(SandboxManager sandboxes) {
    return List.of(
        new Route("POST", PREPARE, x -> {
          sandboxes.arrivalPrepare(read(x, Exchange.MAX_JSON_BODY, new TypeReference<MigrationOffer>() {}));
          x.noContent();
        }),
        new Route("POST", STEP + "processes", x -> {
          sandboxes.arrivalProcesses(id(x), read(x, MAX_PROCESSES_BODY, new TypeReference<List<MovedProcess>>() {}));
          x.noContent();
        }),
        new Route("POST", STEP + "memory", x -> {
          try (InputStream in = x.bodyStream()) {
            sandboxes.arrivalMemory(id(x), in);
          }
          x.noContent();
        }),
        new Route("POST", STEP + "disk", x -> {
          try (InputStream in = x.bodyStream()) {
            sandboxes.arrivalDisk(id(x), in);
          }
          x.noContent();
        }),
        new Route("POST", STEP + "commit", x -> {
          sandboxes.arrivalCommit(id(x));
          x.noContent();
        }),
        new Route("POST", STEP + "abort", x -> {
          sandboxes.arrivalAbort(id(x));
          x.noContent();
        }));
  }

  private static String id(Exchange x) {
    String id = x.path("migration");
    if (!id.matches("[0-9a-f]{32}")) throw new KilnException(ErrorCode.INVALID_REQUEST, "not a migration id: '" + id + "'");
    return id;
  }

  private static <T> T read(Exchange x, int limit, TypeReference<T> type) throws IOException {
    byte[] raw = Exchange.boundedBody(x.bodyStream(), limit, "the body is larger than " + limit + " bytes");
    try {
      return Exchange.JSON.readValue(raw, type);
    } catch (IOException | IllegalArgumentException e) {
      throw new KilnException(ErrorCode.INVALID_JSON, "the migration step's body does not describe what the step takes");
    }
  }
}
