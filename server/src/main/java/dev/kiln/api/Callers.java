package dev.kiln.api;

import dev.kiln.cluster.NodeCredential;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

/**
 * Who may call this daemon's API (every route but /healthz): users with their API keys on a
 * combined daemon or a control instance; on a node, only the control plane with the node's
 * credential, and never a user's key (docs/adr/0017).
 */
public sealed interface Callers {
  boolean accepts(Request request);

  /** The 401's message. */
  String refusal();

  static Callers users(ApiKeys keys) {
    return new Users(keys);
  }

  static Callers controlPlane(NodeCredential credential) {
    return new ControlPlane(credential);
  }

  record Users(ApiKeys keys) implements Callers {
    @Override
    public boolean accepts(Request request) {
      String auth = request.getHeaders().get(HttpHeader.AUTHORIZATION);
      String key = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).strip() : request.getHeaders().get("X-API-Key");
      return keys.valid(key);
    }

    @Override
    public String refusal() {
      return "a valid API key is required (Authorization: Bearer <key> or X-API-Key)";
    }
  }

  record ControlPlane(NodeCredential credential) implements Callers {
    @Override
    public boolean accepts(Request request) {
      return credential.matches(request.getHeaders().get(NodeCredential.HEADER));
    }

    @Override
    public String refusal() {
      return "this is a node's internal API: it answers only the cluster's control instances, with the node's credential; "
          + "send requests (with your API key) to a control instance";
    }
  }
}
