package dev.kiln.api;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a request's failure is as an answer: its status, code and message. The request's own
 * (a refused input, an unknown id) says so; ours goes to the log with its stack, and the answer
 * quotes the incident id to find it by.
 */
public record Failure(int status, ErrorCode code, String message) {
  private static final Logger log = LoggerFactory.getLogger(Failure.class);

  public static Failure of(Exception e, String method, String path) {
    return switch (e) {
      case KilnException k -> new Failure(HttpStatusOf.of(k.code()), k.code(), k.getMessage());
      case IllegalArgumentException i -> new Failure(400, ErrorCode.INVALID_REQUEST, i.getMessage());
      case InterruptedException i -> {
        Thread.currentThread().interrupt();
        yield new Failure(503, ErrorCode.INTERNAL, "the daemon is shutting down");
      }
      default -> {
        String incident = UserMessages.incidentId();
        log.error("unhandled error incident={} on {} {}", incident, method, path, e);
        yield new Failure(500, ErrorCode.INTERNAL,
            "the daemon failed with an internal error (incident " + incident + " in its log); this is a bug in Kiln, not in the request");
      }
    };
  }
}
