package dev.kiln.audit;

import dev.kiln.net.EgressDenials;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Egress a sandbox's policy denied, into the audit trail. Names its resolver refused: the first
 * of every 10 seconds per sandbox, with how many came since the last record, so a guest looping
 * on a blocked name costs the trail one record a window. Packets its firewall refused: one record
 * with their count when its network goes.
 */
public final class GuestDenials implements EgressDenials {
  private final AuditTrail trail;
  private final RefusalWindow window = new RefusalWindow(Duration.ofSeconds(10));

  public GuestDenials(AuditTrail trail) {
    this.trail = trail;
  }

  @Override
  public void denied(String sandboxId, String name) {
    RefusalWindow.Verdict v = window.admit(sandboxId);
    if (!v.record()) return;
    Map<String, Object> detail = new LinkedHashMap<>();
    detail.put("name", name.length() > 255 ? name.substring(0, 255) : name);
    if (v.suppressed() > 0) detail.put("deniedBeforeNotRecorded", v.suppressed());
    trail.record(new AuditEntry(Instant.now(), "guest", "dns.denied", sandboxId, 0, detail));
  }

  @Override
  public void refused(String sandboxId, long packets) {
    trail.record(new AuditEntry(Instant.now(), "guest", "egress.refused", sandboxId, 0, Map.of("packets", packets)));
  }
}
