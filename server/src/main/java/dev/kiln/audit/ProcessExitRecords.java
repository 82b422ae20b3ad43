package dev.kiln.audit;

import dev.kiln.agent.ExitStatus;
import dev.kiln.sandbox.GuestProcess;
import dev.kiln.sandbox.ProcessService;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A background process's end, into the audit trail: its start was recorded with the request that
 * made it (argv, uid, pid); this adds how it ended and how long it ran.
 */
public final class ProcessExitRecords implements ProcessService.ProcessExits {
  private final AuditTrail trail;

  public ProcessExitRecords(AuditTrail trail) {
    this.trail = trail;
  }

  @Override
  public void exited(String sandboxId, GuestProcess p, ExitStatus status) {
    Instant now = Instant.now();
    Map<String, Object> detail = new LinkedHashMap<>();
    detail.put("pid", p.pid());
    detail.put("argv", p.argv());
    detail.put("exitCode", status.exitCode());
    if (status.signal() != 0) detail.put("signal", status.signal());
    detail.put("timedOut", status.timedOut());
    detail.put("durationMs", java.time.Duration.between(p.startedAt(), now).toMillis());
    trail.record(new AuditEntry(now, "guest", "process.exited", sandboxId, 0, detail));
  }
}
