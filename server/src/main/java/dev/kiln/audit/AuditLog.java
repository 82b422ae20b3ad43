package dev.kiln.audit;

import dev.kiln.store.AuditRepository;
import dev.kiln.store.AuditRow;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The audit trail as it is read: records by sandbox and time, and every chain verified. */
public final class AuditLog {
  private final AuditRepository repo;
  private final AuditVerifier verifier;

  public AuditLog(AuditRepository repo, AuditTrail trail) {
    this.repo = repo;
    this.verifier = new AuditVerifier(repo, trail);
  }

  public List<AuditRow> find(Optional<String> sandboxId, Instant since, int limit) {
    return repo.find(sandboxId, since.toEpochMilli(), limit);
  }

  public List<AuditVerifier.ChainReport> verify() throws IOException {
    return verifier.verify();
  }
}
