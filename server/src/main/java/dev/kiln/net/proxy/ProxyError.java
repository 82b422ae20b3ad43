package dev.kiln.net.proxy;

/** Why the proxy answered a request itself instead of forwarding it; the name is the wire code. */
enum ProxyError {
  INVALID_REQUEST(400, "Bad Request"),
  UNAUTHORIZED(401, "Unauthorized"),
  FORBIDDEN(403, "Forbidden"),
  NOT_FOUND(404, "Not Found"),
  HEADERS_TOO_LARGE(431, "Request Header Fields Too Large"),
  UPSTREAM_UNREACHABLE(502, "Bad Gateway"),
  TOO_MANY_CONNECTIONS(503, "Service Unavailable");

  final int status;
  final String reason;

  ProxyError(int status, String reason) {
    this.status = status;
    this.reason = reason;
  }
}
