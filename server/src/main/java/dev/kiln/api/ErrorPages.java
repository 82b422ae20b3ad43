package dev.kiln.api;


import dev.kiln.error.ErrorCode;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Errors Jetty produces before our handler runs (a header too large, a bad request line) get the
 * same JSON error body as ours, so clients have one format to parse.
 */
final class ErrorPages extends ErrorHandler {
  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    int status = response.getStatus();
    String code = switch (status) {
      case 413 -> ErrorCode.PAYLOAD_TOO_LARGE.name();
      case 431 -> ErrorCode.HEADERS_TOO_LARGE.name();
      case 404 -> ErrorCode.ROUTE_NOT_FOUND.name();
      default -> status >= 500 ? ErrorCode.INTERNAL.name() : ErrorCode.INVALID_REQUEST.name();
    };
    Object msg = request.getAttribute(ErrorHandler.ERROR_MESSAGE);
    byte[] body = Exchange.JSON.writeValueAsBytes(Map.of("error", Map.of("code", code, "message", UserMessages.of(code, msg == null ? "HTTP " + status : msg.toString()))));
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.write(true, java.nio.ByteBuffer.wrap(body), callback);
    return true;
  }

}
