package dev.kiln.api;

import dev.kiln.access.ApiKeys;
import dev.kiln.access.Caller;
import dev.kiln.access.Role;
import dev.kiln.cluster.NodeCredential;
import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

/**
 * Who may call this daemon's API (every route but /healthz): users with their API keys on a
 * combined daemon or a control instance; on a node, only the control plane with the node's
 * credential, and never a user's key (docs/adr/0017). The control plane says for which key it
 * asks ({@link Caller#HEADER}); without that it asks for itself.
 */
public sealed interface Callers {
  /** The caller the request is made by; empty if it may not call at all. */
  Optional<Caller> authenticate(Request request);

  /** The 401's message. */
  String refusal();

  /** The caller of a request another API's handler serves (E2B's). */
  default Optional<Caller> authenticate(Exchange x) {
    return authenticate(x.request);
  }

  /** A browser's WebSocket cannot set headers: it offers its key as a subprotocol, {@value #KEY_PROTOCOL} and the key. */
  String KEY_PROTOCOL = "kiln.key.";
  /** The subprotocol the server accepts when a key came as one (a browser fails a handshake that accepts none it offered). */
  String PROTOCOL = "kiln";

  /** The key a request presents (Authorization: Bearer, X-API-Key, or a WebSocket subprotocol), or null. */
  static String presentedKey(Request request) {
    String auth = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) return auth.substring(7).strip();
    String header = request.getHeaders().get("X-API-Key");
    if (header != null) return header;
    for (String offered : request.getHeaders().getCSV(HttpHeader.SEC_WEBSOCKET_SUBPROTOCOL, false)) {
      if (offered.startsWith(KEY_PROTOCOL)) return offered.substring(KEY_PROTOCOL.length());
    }
    return null;
  }

  static Callers users(ApiKeys keys) {
    return new Users(keys);
  }

  static Callers controlPlane(NodeCredential credential) {
    return new ControlPlane(credential);
  }

  record Users(ApiKeys keys) implements Callers {
    @Override
    public Optional<Caller> authenticate(Request request) {
      return keys.authenticate(presentedKey(request));
    }

    @Override
    public String refusal() {
      return "a valid API key is required (Authorization: Bearer <key>, X-API-Key, or a WebSocket subprotocol " + KEY_PROTOCOL + "<key>)";
    }
  }

  record ControlPlane(NodeCredential credential) implements Callers {
    /** The control plane asking for itself: a take-over, a drain, a TTL. */
    public static final Caller ITSELF = new Caller("control-plane", Role.ADMIN);

    @Override
    public Optional<Caller> authenticate(Request request) {
      if (!credential.matches(request.getHeaders().get(NodeCredential.HEADER))) return Optional.empty();
      String onBehalf = request.getHeaders().get(Caller.HEADER);
      return onBehalf == null ? Optional.of(ITSELF) : Caller.fromHeader(onBehalf);
    }

    @Override
    public String refusal() {
      return "this is a node's internal API: it answers only the cluster's control instances, with the node's credential; "
          + "send requests (with your API key) to a control instance";
    }
  }
}
