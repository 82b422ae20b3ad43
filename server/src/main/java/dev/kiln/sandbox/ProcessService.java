package dev.kiln.sandbox;

import dev.kiln.agent.ExitStatus;
import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.agent.ExecEvent;
import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExecRequest;
import dev.kiln.agent.TerminalSize;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Background processes: started, then followed by one pump thread each that moves their output into
 * a bounded scrollback, so they run on whether or not a client is attached. Finished processes stay
 * listed, with their exit status and output, until newer ones push them out.
 */
public final class ProcessService {
  private static final Logger log = LoggerFactory.getLogger(ProcessService.class);
  /** Running processes per sandbox: each holds a scrollback and a stream in the agent. */
  public static final int MAX_RUNNING = 64;
  /** Finished processes kept per sandbox (with their scrollback) before the oldest is forgotten. */
  static final int FINISHED_KEPT = 32;
  /** What a closed session still delivered is in memory already: taking it is quick. */
  private static final Duration PUMP_DRAIN = Duration.ofSeconds(10);

  private final SandboxManager manager;
  private final SandboxOperations ops;
  private final long scrollbackBytes;
  private final Map<String, Map<Long, GuestProcess>> bySandbox = new ConcurrentHashMap<>();
  private volatile ProcessExits exits = (sandboxId, process, status) -> { };

  /**
   * Told when a background process exits, before anyone can see it exited (so a client that sees it
   * ended finds its record): the audit trail's record of what ran.
   */
  @FunctionalInterface
  public interface ProcessExits {
    void exited(String sandboxId, GuestProcess process, ExitStatus status);
  }

  public void onExit(ProcessExits listener) {
    exits = listener;
  }

  public ProcessService(SandboxManager manager, SandboxOperations ops, long scrollbackBytes) {
    this.manager = manager;
    this.ops = ops;
    this.scrollbackBytes = scrollbackBytes;
    manager.onDeleted(bySandbox::remove);
    manager.carryProcessesWith(new SandboxManager.ProcessCarrier() {
      @Override
      public List<MovedProcess> leaving(String sandboxId) throws InterruptedException {
        return ProcessService.this.leaving(sandboxId);
      }

      @Override
      public void left(String sandboxId) {
        ProcessService.this.left(sandboxId);
      }

      @Override
      public void arrived(String sandboxId, List<MovedProcess> processes) {
        ProcessService.this.arrived(sandboxId, processes);
      }
    });
    manager.onAgent(new SandboxManager.AgentListener() {
      @Override
      public void detaching(String sandboxId) {
        runningOf(sandboxId).forEach(GuestProcess::suspend);
      }

      @Override
      public void attached(String sandboxId, AgentConnection agent) {
        follow(sandboxId, agent.resumedExecs());
      }
    });
  }

  /**
   * A new agent session: processes it kept (a resumed pause, a re-adopted VM) are followed on their
   * new streams, and adopted if this daemon did not start them; processes it did not keep ended
   * while no one was following them, or were ended by a new session.
   */
  private void follow(String id, List<ExecHandle> kept) {
    Map<Long, ExecHandle> byPid = new java.util.HashMap<>();
    kept.forEach(h -> byPid.put(h.pid(), h));
    Map<Long, GuestProcess> procs = bySandbox.computeIfAbsent(id, k -> new LinkedHashMap<>());
    List<GuestProcess> toPump = new ArrayList<>();
    synchronized (procs) {
      for (GuestProcess p : procs.values()) {
        if (p.status() != GuestProcess.Status.RUNNING) continue;
        ExecHandle h = byPid.remove(p.pid());
        if (h == null) {
          p.lost();
          continue;
        }
        p.resumeOn(h);
        toPump.add(p);
      }
      for (ExecHandle h : byPid.values()) {
        GuestProcess p = new GuestProcess(h.pid(), List.of(), false, false, h, scrollbackBytes, Duration.ZERO, true);
        procs.put(p.pid(), p);
        toPump.add(p);
      }
    }
    for (GuestProcess p : toPump) {
      startPump(id, p);
      log.info("process followed again sandbox={} pid={} adopted={}", id, p.pid(), p.adopted());
    }
  }

  /**
   * Starts a background process. With a nonzero {@code keepAlive} it is killed once no client has
   * followed or read its output for that long; zero lets it run until it exits (or its command
   * timeout, a separate limit).
   */
  public GuestProcess start(String id, ExecRequest req, Duration keepAlive) throws InterruptedException {
    AgentConnection agent = manager.agent(id);
    Map<Long, GuestProcess> procs = bySandbox.computeIfAbsent(id, k -> new LinkedHashMap<>());
    synchronized (procs) {
      long running = procs.values().stream().filter(p -> p.status() == GuestProcess.Status.RUNNING).count();
      if (running >= MAX_RUNNING) {
        throw new KilnException(ErrorCode.INSUFFICIENT_CAPACITY, "sandbox " + id + " already runs " + running + " background processes (the limit)");
      }
    }
    ExecHandle h;
    try {
      h = agent.exec(ops.withSandboxEnv(id, req));
    } catch (AgentException e) {
      throw ops.execFailure(id, req, e, agent);
    }
    GuestProcess p = new GuestProcess(h.pid(), req.argv(), req.pty().isPresent(), req.login(), h, scrollbackBytes, keepAlive);
    synchronized (procs) {
      procs.put(p.pid(), p);
      pruneFinished(procs);
    }
    startPump(id, p);
    log.info("process started sandbox={} pid={} argv0=\"{}\" login={}", id, p.pid(), req.program(), req.login());
    return p;
  }

  private void startPump(String id, GuestProcess p) {
    p.pumpedBy(Thread.ofVirtual().name("process-" + id + "-" + p.pid()).start(() -> pump(id, p)));
  }

  /**
   * The sandbox's running processes as a live migration carries them, once the guest holds their
   * output and the session is closed: each pump has first taken what the session delivered, so the
   * kept output ends exactly where the guest's held output begins.
   */
  List<MovedProcess> leaving(String id) throws InterruptedException {
    List<GuestProcess> running = runningOf(id);
    List<MovedProcess> out = new ArrayList<>();
    for (GuestProcess p : running) {
      if (!p.awaitPumped(PUMP_DRAIN)) throw new IllegalStateException("process " + p.pid() + " of " + id + " did not drain its output in " + PUMP_DRAIN.toSeconds() + " s");
      out.add(p.leaving());
    }
    return out;
  }

  /** The sandbox runs on another node now: its followers here are told to re-attach there. */
  void left(String id) {
    runningOf(id).forEach(GuestProcess::moved);
    bySandbox.remove(id);
  }

  /** Processes a live migration brought: followed once this node's session with the guest lists them. */
  void arrived(String id, List<MovedProcess> moved) {
    Map<Long, GuestProcess> procs = bySandbox.computeIfAbsent(id, k -> new LinkedHashMap<>());
    synchronized (procs) {
      for (MovedProcess m : moved) procs.put(m.pid(), GuestProcess.arrived(m, scrollbackBytes));
    }
  }

  private List<GuestProcess> runningOf(String id) {
    Map<Long, GuestProcess> procs = bySandbox.get(id);
    if (procs == null) return List.of();
    synchronized (procs) {
      return procs.values().stream().filter(p -> p.status() == GuestProcess.Status.RUNNING).toList();
    }
  }

  private void pump(String id, GuestProcess p) {
    try {
      while (true) {
        switch (p.handle().next(Duration.ofMinutes(1))) {
          case null -> { } // nothing yet; keep following
          case ExecEvent.Output o -> p.append(o.stderr(), o.data());
          case ExecEvent.Exited x -> {
            exits.exited(id, p, x.status());
            p.exited(x.status());
            log.info("process exited sandbox={} pid={} exit_code={} signal={}", id, p.pid(), x.status().exitCode(), x.status().signal());
            return;
          }
        }
      }
    } catch (AgentException e) {
      if (p.suspended()) return; // its session closes for a pause; the resumed session follows it again
      p.lost();
      log.info("process output no longer followed sandbox={} pid={} reason=\"{}\"", id, p.pid(), e.getMessage());
    } catch (InterruptedException e) {
      p.lost();
      Thread.currentThread().interrupt();
    }
  }

  private static void pruneFinished(Map<Long, GuestProcess> procs) {
    List<Long> finished = new ArrayList<>();
    procs.forEach((pid, p) -> {
      if (p.status() != GuestProcess.Status.RUNNING) finished.add(pid);
    });
    for (int i = 0; i < finished.size() - FINISHED_KEPT; i++) procs.remove(finished.get(i));
  }

  /** The sandbox's processes, oldest first: running, and finished ones still kept. */
  public List<GuestProcess> list(String id) {
    manager.get(id);
    Map<Long, GuestProcess> procs = bySandbox.getOrDefault(id, Map.of());
    synchronized (procs) {
      return List.copyOf(procs.values());
    }
  }

  public GuestProcess get(String id, long pid) {
    manager.get(id);
    Map<Long, GuestProcess> procs = bySandbox.getOrDefault(id, Map.of());
    GuestProcess p;
    synchronized (procs) {
      p = procs.get(pid);
    }
    if (p == null) throw new KilnException(ErrorCode.PROCESS_NOT_FOUND, "sandbox " + id + " has no process " + pid + " started through the processes API");
    return p;
  }

  /** Kills the processes whose keep-alive ran out with no client; called by the daemon's reaper. */
  public void reapUnattended() {
    long now = System.nanoTime();
    bySandbox.forEach((id, procs) -> {
      List<GuestProcess> due;
      synchronized (procs) {
        due = procs.values().stream().filter(p -> p.status() == GuestProcess.Status.RUNNING && !p.suspended() && !p.keepAlive().isZero()
            && !p.killedUnattended() && p.unattendedFor(now).compareTo(p.keepAlive()) > 0).toList();
      }
      for (GuestProcess p : due) {
        try {
          p.markKilledUnattended();
          p.handle().signal(9);
          log.info("process killed sandbox={} pid={} reason=\"no client for its keep-alive of {} s\"", id, p.pid(), p.keepAlive().toSeconds());
        } catch (AgentException e) {
          log.warn("process sandbox={} pid={} not killed after its keep-alive: {}", id, p.pid(), e.getMessage());
        }
      }
    });
  }

  public void signal(String id, long pid, int signo) throws InterruptedException {
    if (signo < 1 || signo > 64) throw new KilnException(ErrorCode.INVALID_REQUEST, "signal must be 1..64, got " + signo);
    GuestProcess p = reachable(id, pid);
    try {
      p.handle().signal(signo);
    } catch (AgentException e) {
      throw SandboxOperations.guestFailure(id, "signal " + pid, e);
    }
  }

  public void resize(String id, long pid, TerminalSize size) throws InterruptedException {
    GuestProcess p = reachable(id, pid);
    if (!p.pty()) throw new KilnException(ErrorCode.INVALID_REQUEST, "process " + pid + " has no terminal to resize (start it with 'pty')");
    try {
      p.handle().resize(size);
    } catch (AgentException e) {
      throw SandboxOperations.guestFailure(id, "resize of " + pid, e);
    }
  }

  public void writeStdin(String id, long pid, byte[] data, boolean close) throws InterruptedException {
    GuestProcess p = reachable(id, pid);
    try {
      if (data.length > 0) p.handle().writeStdin(data);
      if (close) p.handle().closeStdin();
    } catch (AgentException e) {
      throw SandboxOperations.guestFailure(id, "stdin of " + pid, e);
    }
  }

  /**
   * The running process, once its sandbox's session is there to reach it: a transition under way
   * (a pause, a live migration) is waited for, and a sandbox that moved meanwhile is the new node's
   * (421, which the control plane sends on).
   */
  private GuestProcess reachable(String id, long pid) throws InterruptedException {
    running(id, pid);
    manager.agent(id);
    return running(id, pid);
  }

  /** The process, if it still runs; 404 or 409 otherwise. */
  public GuestProcess running(String id, long pid) {
    GuestProcess p = get(id, pid);
    if (p.status() != GuestProcess.Status.RUNNING) {
      throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "process " + pid + " in sandbox " + id + " is " + p.status().name().toLowerCase());
    }
    return p;
  }
}
