package dev.kiln.audit;

import dev.kiln.store.AuditRepository;
import dev.kiln.store.AuditRow;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Walks every chain in the store from its first record: a missing record shows as a gap in the
 * sequence or a link to nothing, an altered one as a hash that is not its own; and this daemon's
 * chain must reach the head it last wrote, or records were removed from its end.
 */
public final class AuditVerifier {
  private static final int PAGE = 2000;
  private final AuditRepository repo;
  private final AuditTrail trail;

  public AuditVerifier(AuditRepository repo, AuditTrail trail) {
    this.repo = repo;
    this.trail = trail;
  }

  /** One chain's verdict: how many records were checked, and the first problem found, if any. */
  public record ChainReport(String chain, long records, Optional<String> problem) {
    public boolean intact() {
      return problem.isEmpty();
    }
  }

  public List<ChainReport> verify() throws IOException {
    Optional<AuditHead.Head> head = trail.head();
    List<String> chains = new ArrayList<>(repo.chains());
    if (head.isPresent() && !chains.contains(head.get().chain())) chains.add(head.get().chain());
    List<ChainReport> out = new ArrayList<>();
    for (String chain : chains) out.add(verify(chain, head.filter(h -> h.chain().equals(chain))));
    return out;
  }

  private ChainReport verify(String chain, Optional<AuditHead.Head> head) {
    long expected = 1;
    String prev = AuditChain.GENESIS;
    while (true) {
      List<AuditRow> page = repo.page(chain, expected - 1, PAGE);
      if (page.isEmpty()) break;
      for (AuditRow r : page) {
        if (r.seq() != expected) {
          return broken(chain, expected - 1, "record " + expected + (r.seq() == expected + 1 ? " is" : " to " + (r.seq() - 1) + " are")
              + " missing: the chain goes from " + (expected - 1) + " to " + r.seq());
        }
        if (!r.prevHash().equals(prev)) return broken(chain, expected - 1, "record " + r.seq() + " does not follow record " + (r.seq() - 1) + ": one of them was altered");
        if (!AuditChain.hashOf(r).equals(r.hash())) return broken(chain, expected - 1, "record " + r.seq() + " was altered: its fields do not give its hash");
        prev = r.hash();
        expected++;
      }
    }
    long last = expected - 1;
    if (head.isPresent()) {
      if (last < head.get().seq()) {
        return broken(chain, last, "records " + (last + 1) + " to " + head.get().seq() + " were removed from the end: this daemon wrote up to "
            + head.get().seq());
      }
      if (last == head.get().seq() && !prev.equals(head.get().hash())) return broken(chain, last, "the last record is not the one this daemon wrote");
    }
    return new ChainReport(chain, last, Optional.empty());
  }

  private static ChainReport broken(String chain, long checked, String problem) {
    return new ChainReport(chain, checked, Optional.of(problem));
  }
}
