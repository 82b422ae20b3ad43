package dev.kiln.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.audit.AuditLog;
import dev.kiln.audit.AuditVerifier;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.AuditRow;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** /v1/audit (admin keys only): the trail's records by sandbox and time, and a verification of every chain. */
final class AuditRoutes {
  private static final int DEFAULT_LIMIT = 1000;
  private static final int MAX_LIMIT = 10_000;
  private final AuditLog log;

  AuditRoutes(AuditLog log) {
    this.log = log;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/audit", this::find),
        new Route("POST", "/v1/audit/verify", this::verify));
  }

  private void find(Exchange x) throws IOException {
    Optional<String> sandbox = Optional.ofNullable(x.query("sandbox")).filter(s -> !s.isEmpty());
    Instant since = since(x.query("since"));
    int limit = limit(x.query("limit"));
    List<Map<String, Object>> records = log.find(sandbox, since, limit).stream().map(AuditRoutes::view).toList();
    x.json(200, Map.of("records", records));
  }

  private void verify(Exchange x) throws IOException {
    List<AuditVerifier.ChainReport> reports = log.verify();
    List<Map<String, Object>> chains = reports.stream().map(r -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("chain", r.chain());
      m.put("records", r.records());
      m.put("intact", r.intact());
      r.problem().ifPresent(p -> m.put("problem", p));
      return m;
    }).toList();
    x.json(200, Map.of("intact", reports.stream().allMatch(AuditVerifier.ChainReport::intact), "chains", chains));
  }

  private static Instant since(String q) {
    if (q == null || q.isEmpty()) return Instant.EPOCH;
    try {
      return Instant.parse(q);
    } catch (DateTimeParseException e) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "since must be an ISO-8601 instant such as 2026-12-05T12:00:00Z, got '" + q + "'");
    }
  }

  private static int limit(String q) {
    if (q == null) return DEFAULT_LIMIT;
    try {
      int n = Integer.parseInt(q);
      if (n >= 1 && n <= MAX_LIMIT) return n;
    } catch (NumberFormatException e) {
      // answered below
    }
    throw new KilnException(ErrorCode.INVALID_REQUEST, "limit must be 1.." + MAX_LIMIT + ", got '" + q + "'");
  }

  private static Map<String, Object> view(AuditRow r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("chain", r.chain());
    m.put("seq", r.seq());
    m.put("at", Instant.ofEpochMilli(r.atMillis()).toString());
    m.put("actor", r.actor());
    m.put("action", r.action());
    m.put("sandbox", r.sandboxId().isEmpty() ? null : r.sandboxId());
    m.put("status", r.status());
    m.put("detail", detail(r.detailJson()));
    m.put("hash", r.hash());
    return m;
  }

  private static JsonNode detail(String json) {
    try {
      return Exchange.JSON.readTree(json);
    } catch (IOException e) {
      // Stored by this daemon as JSON; text that is not is shown as it is (a verification says whether it was altered).
      return Exchange.JSON.getNodeFactory().textNode(json);
    }
  }
}
