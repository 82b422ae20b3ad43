package dev.kiln.api;

import dev.kiln.error.ErrorCode;

/** The one mapping from error codes to HTTP statuses. */
final class HttpStatusOf {
  private HttpStatusOf() {}

  static int of(ErrorCode code) {
    return switch (code) {
      case INVALID_REQUEST, INVALID_JSON, EXEC_FAILED -> 400;
      case UNAUTHORIZED -> 401;
      case PERMISSION_DENIED -> 403;
      case ROUTE_NOT_FOUND, SANDBOX_NOT_FOUND, TEMPLATE_NOT_FOUND, FILE_NOT_FOUND, CHECKPOINT_NOT_FOUND,
          POOL_NOT_FOUND, PROCESS_NOT_FOUND, FORWARD_NOT_FOUND -> 404;
      case METHOD_NOT_ALLOWED -> 405;
      case TEMPLATE_IN_USE, TEMPLATE_BUSY, TEMPLATE_NOT_READY, SANDBOX_NOT_RUNNING, ILLEGAL_TRANSITION, FILE_CONFLICT,
          CHECKPOINT_EXISTS, PORT_IN_USE -> 409;
      case PAYLOAD_TOO_LARGE -> 413;
      case INSUFFICIENT_CAPACITY, TEMPLATE_BUILD_FAILED -> 422;
      case DISK_FULL -> 507;
      case INTERNAL -> 500;
      case GUEST_ERROR, GUEST_UNAVAILABLE -> 502;
      case VM_START_FAILED, SNAPSHOT_FAILED, NETWORK_UNAVAILABLE -> 503;
    };
  }
}
