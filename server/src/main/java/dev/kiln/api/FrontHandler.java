package dev.kiln.api;

import java.util.Map;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** A {@link Front} as a Jetty handler: a request it does not take is left to the next handler. */
final class FrontHandler extends Handler.Abstract {
  private final Front front;

  FrontHandler(Front front) {
    this.front = front;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    Exchange x = new Exchange(request, response, callback, null, Map.of());
    if (!front.takes(x)) return false;
    front.serve(x);
    return true;
  }
}
