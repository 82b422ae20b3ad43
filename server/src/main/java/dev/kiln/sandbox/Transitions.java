package dev.kiln.sandbox;

import static dev.kiln.sandbox.SandboxState.CREATING;
import static dev.kiln.sandbox.SandboxState.ERROR;
import static dev.kiln.sandbox.SandboxState.PAUSED;
import static dev.kiln.sandbox.SandboxState.RUNNING;
import static dev.kiln.sandbox.SandboxState.STOPPED;
import static dev.kiln.sandbox.SandboxState.STOPPING;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.SandboxRow;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The sandbox state machine: for each operation, the states it may start from and the state it
 * leads to. The one place that decides whether an operation is allowed: every 409 about a
 * sandbox's state comes from {@link #check}. Callers hold the sandbox's lifecycle lock while they
 * check and act, and record the outcome with a compare-and-set on the state they checked
 * (SandboxRepository.transition), so the rule also holds against writers outside this process.
 *
 * <p>docs/DESIGN.md shows the table as {@link #render} prints it (TransitionsTest keeps them equal).
 */
final class Transitions {
  /** What the table says about one operation in one state. */
  sealed interface Rule {}

  /** Allowed: the sandbox ends in {@code to}. */
  record Go(SandboxState to) implements Rule {}

  /** Nothing to do: the sandbox is where the operation would take it (resume of a running sandbox). */
  record Already() implements Rule {}

  /** Refused; {@code hint} (may be empty) tells the client what would make it possible. */
  record Refused(String hint) implements Rule {}

  private static final Map<Operation, Map<SandboxState, Rule>> TABLE = new EnumMap<>(Operation.class);

  static {
    allow(Operation.PAUSE, PAUSED, RUNNING);
    refuse(Operation.PAUSE, STOPPED, "start it first");
    allow(Operation.RESUME, RUNNING, PAUSED);
    already(Operation.RESUME, RUNNING);
    allow(Operation.STOP, STOPPED, RUNNING, PAUSED);
    already(Operation.STOP, STOPPED);
    allow(Operation.START, RUNNING, STOPPED);
    already(Operation.START, RUNNING);
    refuse(Operation.START, PAUSED, "resume it");
    for (Operation saves : new Operation[] {Operation.CHECKPOINT, Operation.FORK_LIVE}) {
      allow(saves, RUNNING, RUNNING);
      refuse(saves, PAUSED, "resume it first");
      refuse(saves, STOPPED, "start it first");
    }
    allow(Operation.RESTORE, RUNNING, RUNNING, PAUSED, STOPPED, ERROR);
    allow(Operation.RESIZE, RUNNING, RUNNING);
    refuse(Operation.RESIZE, PAUSED, "resume it first");
    refuse(Operation.RESIZE, STOPPED, "start it first");
    allow(Operation.DELETE, STOPPING, SandboxState.values());
    allow(Operation.FAIL, ERROR, CREATING, RUNNING, PAUSED, STOPPED);
    already(Operation.FAIL, ERROR);
    already(Operation.FAIL, STOPPING);
    allow(Operation.USE, RUNNING, PAUSED);
    already(Operation.USE, RUNNING);
    for (SandboxState s : new SandboxState[] {CREATING, RUNNING, PAUSED, STOPPED, ERROR}) allow(Operation.CONFIGURE, s, s);
    allow(Operation.ATTACH, RUNNING, CREATING);
  }

  private Transitions() {}

  private static void allow(Operation op, SandboxState to, SandboxState... from) {
    for (SandboxState s : from) TABLE.computeIfAbsent(op, k -> new EnumMap<>(SandboxState.class)).put(s, new Go(to));
  }

  private static void already(Operation op, SandboxState in) {
    TABLE.get(op).put(in, new Already());
  }

  private static void refuse(Operation op, SandboxState in, String hint) {
    TABLE.computeIfAbsent(op, k -> new EnumMap<>(SandboxState.class)).put(in, new Refused(hint));
  }

  /** The rule for {@code op} in state {@code from}: anything the table does not allow is refused. */
  static Rule rule(SandboxState from, Operation op) {
    return TABLE.getOrDefault(op, Map.of()).getOrDefault(from, new Refused(""));
  }

  /** {@link #check(String, SandboxState, Operation)} for a sandbox as its row is now. */
  static Optional<SandboxState> check(SandboxRow r, Operation op) {
    return check(r.id(), SandboxRows.stateOf(r), op);
  }

  /**
   * The state {@code op} leads to from {@code from}, empty when there is nothing to do, or the 409
   * that names the sandbox's state and what the operation needs.
   */
  static Optional<SandboxState> check(String sandboxId, SandboxState from, Operation op) {
    return switch (rule(from, op)) {
      case Go go -> Optional.of(go.to());
      case Already a -> Optional.empty();
      case Refused r -> throw refusal(sandboxId, from, op, r.hint());
    };
  }

  /** The 409 for an operation the table refuses. */
  static KilnException refusal(String sandboxId, SandboxState from, Operation op, String hint) {
    String suffix = hint.isEmpty() ? "" : " (" + hint + ")";
    if (op == Operation.USE) {
      return new KilnException(ErrorCode.SANDBOX_NOT_RUNNING, "sandbox " + sandboxId + " is " + from.wire() + ", not running" + suffix);
    }
    return new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + sandboxId + " is " + from.wire() + "; " + op.phrase() + " needs "
        + needed(op) + suffix);
  }

  /** The table in Markdown, one row per operation, for docs/DESIGN.md. */
  static String render() {
    StringBuilder b = new StringBuilder("| operation | allowed from | leads to | nothing to do in | refused with a hint |\n|---|---|---|---|---|\n");
    for (Operation op : Operation.values()) {
      var rules = TABLE.getOrDefault(op, Map.of());
      List<String> from = new ArrayList<>();
      Set<String> to = new LinkedHashSet<>();
      List<String> noop = new ArrayList<>();
      List<String> hints = new ArrayList<>();
      boolean unchanged = true;
      for (var e : rules.entrySet()) {
        switch (e.getValue()) {
          case Go go -> {
            from.add(e.getKey().wire());
            to.add(go.to().wire());
            unchanged &= go.to() == e.getKey();
          }
          case Already a -> noop.add(e.getKey().wire());
          case Refused r -> hints.add(e.getKey().wire() + ": " + r.hint());
        }
      }
      b.append("| ").append(op.verb()).append(" | ").append(String.join(", ", from)).append(" | ")
          .append(unchanged ? "(unchanged)" : String.join(", ", to)).append(" | ").append(String.join(", ", noop)).append(" | ")
          .append(String.join("; ", hints)).append(" |\n");
    }
    return b.toString();
  }

  /** The states an operation may start from, in words: "running or paused". */
  static String needed(Operation op) {
    var from = TABLE.getOrDefault(op, Map.of()).entrySet().stream().filter(e -> e.getValue() instanceof Go).map(e -> e.getKey().wire()).toList();
    if (from.isEmpty()) return "nothing";
    if (from.size() == 1) return from.get(0);
    return String.join(", ", from.subList(0, from.size() - 1)) + " or " + from.get(from.size() - 1);
  }
}
