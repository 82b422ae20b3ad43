package dev.kiln.api;

import dev.kiln.access.Caller;
import dev.kiln.audit.AuditEntry;
import dev.kiln.audit.AuditTrail;
import dev.kiln.audit.RefusalWindow;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.server.Request;

/**
 * What the API puts in the audit trail: every request that changes something (any method but GET
 * and HEAD), answered or refused, with its caller, route, sandbox, status and what the route added
 * (argv and exit code, path and sha256…); and requests refused for their key (401), at most one
 * per source a minute with a count of the rest, so a flood of bad keys cannot flood the trail.
 * Reads are not recorded.
 */
public final class ApiAudit {
  private final AuditTrail trail;
  private final RefusalWindow refusals = new RefusalWindow(java.time.Duration.ofMinutes(1));

  public ApiAudit(AuditTrail trail) {
    this.trail = trail;
  }

  public void after(Exchange x, Route route, int status) {
    if (status == 401) {
      refused(x, status);
      return;
    }
    if (route == null || x.isAuditedElsewhere() || x.callerIfAny().isEmpty()) return;
    String method = route.method();
    java.util.OptionalInt handedOff = x.handOffOutcome();
    // A read is not recorded; a GET handed off to a WebSocket that changed something is, with its outcome.
    if ((method.equals("GET") || method.equals("HEAD")) && handedOff.isEmpty()) return;
    int outcome = handedOff.orElse(status);
    Caller caller = x.callerIfAny().get();
    trail.record(new AuditEntry(Instant.now(), caller.keyId(), method + " " + route.template(), x.auditSandbox(), outcome, x.auditDetail()));
  }

  private void refused(Exchange x, int status) {
    String source = Request.getRemoteAddr(x.request);
    RefusalWindow.Verdict v = refusals.admit(source);
    if (!v.record()) return;
    Map<String, Object> detail = new LinkedHashMap<>();
    detail.put("source", source);
    detail.put("method", x.request.getMethod());
    detail.put("path", Request.getPathInContext(x.request));
    detail.put("keyPrefix", presentedPrefix(x.request));
    if (v.suppressed() > 0) detail.put("refusedBeforeNotRecorded", v.suppressed());
    trail.record(new AuditEntry(Instant.now(), "", "login.refused", "", status, detail));
  }

  /** The first characters of a presented key (what a key list shows), never the key: enough to tell a revoked key from a made-up one. */
  private static String presentedPrefix(Request request) {
    String key = Callers.presentedKey(request);
    if (key == null || key.isEmpty()) return "";
    return key.substring(0, Math.min(13, key.length() / 4));
  }
}
