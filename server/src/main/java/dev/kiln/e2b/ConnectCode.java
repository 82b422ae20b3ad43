package dev.kiln.e2b;

import dev.kiln.error.ErrorCode;

/** The Connect protocol's error codes that envd answers with, their wire names and HTTP statuses (connectrpc.com/docs/protocol). */
enum ConnectCode {
  CANCELED("canceled", 499),
  INVALID_ARGUMENT("invalid_argument", 400),
  DEADLINE_EXCEEDED("deadline_exceeded", 504),
  NOT_FOUND("not_found", 404),
  ALREADY_EXISTS("already_exists", 409),
  PERMISSION_DENIED("permission_denied", 403),
  RESOURCE_EXHAUSTED("resource_exhausted", 429),
  FAILED_PRECONDITION("failed_precondition", 400),
  UNIMPLEMENTED("unimplemented", 501),
  INTERNAL("internal", 500),
  UNAVAILABLE("unavailable", 503),
  UNAUTHENTICATED("unauthenticated", 401);

  final String wire;
  final int httpStatus;

  ConnectCode(String wire, int httpStatus) {
    this.wire = wire;
    this.httpStatus = httpStatus;
  }

  /** What the SDK should make of one of Kiln's errors (it raises NotFoundError, InvalidArgumentError... by these). */
  static ConnectCode of(ErrorCode code) {
    return switch (code) {
      case FILE_NOT_FOUND, PROCESS_NOT_FOUND -> NOT_FOUND;
      case INVALID_REQUEST, INVALID_JSON, EXEC_FAILED, COMMAND_NOT_FOUND, COMMAND_NOT_EXECUTABLE, PAYLOAD_TOO_LARGE -> INVALID_ARGUMENT;
      case UNAUTHORIZED -> UNAUTHENTICATED;
      case PERMISSION_DENIED, FORBIDDEN -> PERMISSION_DENIED;
      case QUOTA_EXCEEDED, DISK_FULL, DISK_QUOTA_EXCEEDED, INSUFFICIENT_CAPACITY -> RESOURCE_EXHAUSTED;
      case FILE_CONFLICT, SANDBOX_NOT_RUNNING, ILLEGAL_TRANSITION -> FAILED_PRECONDITION;
      case ROUTE_NOT_FOUND, METHOD_NOT_ALLOWED -> UNIMPLEMENTED;
      // The sandbox went away under the call: the SDK tells its user the sandbox probably timed out.
      case SANDBOX_NOT_FOUND, SANDBOX_DELETED, SANDBOX_EXPIRED, SANDBOX_LOST, GUEST_UNAVAILABLE, GUEST_ERROR, VM_START_FAILED, NODE_UNREACHABLE,
          WRONG_NODE -> UNAVAILABLE;
      default -> INTERNAL;
    };
  }
}
