package dev.kiln.audit;

import java.time.Instant;
import java.util.Map;

/**
 * Something to record: who ({@code actor}, a key id), what ({@code action}: the route, such as
 * {@code POST /v1/sandboxes/{id}/exec}, or an event such as {@code dns.denied}), about which
 * sandbox ("" for none), how it was answered ({@code status}; 0 when no request asked), and its
 * particulars.
 */
public record AuditEntry(Instant at, String actor, String action, String sandboxId, int status, Map<String, Object> detail) {
  public AuditEntry {
    detail = Map.copyOf(detail);
  }
}
