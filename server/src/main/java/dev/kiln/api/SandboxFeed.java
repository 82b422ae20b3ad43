package dev.kiln.api;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.Sandbox;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxState;
import dev.kiln.store.EventRepository;
import dev.kiln.vmm.Cgroups;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.function.Predicate;

/**
 * {@code GET /v1/sandboxes?watch=true}: the caller's sandboxes as server-sent events, for the web
 * console's live list. First {@code sandboxes} (the whole list, as {@code GET /v1/sandboxes}
 * answers it), then {@code changed} (a sandbox's view, new or different), {@code removed}
 * ({@code {"id"}}), {@code event} (a recorded sandbox event: id, seq, at, kind, message) and
 * {@code usage} ({@code {"usage":{id:{cpuPercent,memoryBytes,memoryLimitBytes}}}}: running
 * sandboxes on this node, each second). The store is read once a second, for all watchers
 * together ({@link Reading}): the list and the events are there for every daemon of a cluster, so
 * a watcher sees what another instance did too.
 */
final class SandboxFeed {
  private static final Duration TICK = Duration.ofSeconds(1);
  /** A comment line this often keeps proxies from closing an idle stream, and finds a client that left. */
  private static final Duration KEEP_ALIVE = Duration.ofSeconds(15);
  /** Events sent per tick at most: a burst (a fork of 32) is sent over the next ticks. */
  private static final int EVENTS_PER_TICK = 200;
  /** Each watcher costs a diff a second and an events query; this many at once is the most the daemon serves. */
  static final int MAX_WATCHERS = 64;
  private final SandboxManager sandboxes;
  private final Semaphore watchers = new Semaphore(MAX_WATCHERS);
  private Reading last;

  SandboxFeed(SandboxManager sandboxes) {
    this.sandboxes = sandboxes;
  }

  /** Every sandbox and the CPU and memory of those running on this node, read at one moment. */
  private record Reading(long atNanos, List<Sandbox> all, Map<String, Cgroups.Usage> usage) {}

  /** The last reading if it is fresh (another watcher's this tick), else a new one. */
  private synchronized Reading read() {
    if (last != null && System.nanoTime() - last.atNanos() < TICK.toNanos() / 2) return last;
    List<Sandbox> all = sandboxes.list();
    String here = sandboxes.thisNode().id();
    Map<String, Cgroups.Usage> usage = new HashMap<>();
    for (Sandbox s : all) {
      // Another node's sandbox: only its own node reads its control group (the list is the cluster's).
      if (s.state() != SandboxState.RUNNING || s.lost() || !(s.node().isEmpty() || s.node().equals(here))) continue;
      sandboxes.vmUsage(s.id()).ifPresent(u -> usage.put(s.id(), u));
    }
    last = new Reading(System.nanoTime(), all, Map.copyOf(usage));
    return last;
  }

  /** Streams until the client leaves (a write fails) or the daemon stops. */
  void serve(Exchange x, Predicate<Sandbox> shown) throws IOException, InterruptedException {
    if (!watchers.tryAcquire()) {
      throw new KilnException(ErrorCode.QUOTA_EXCEEDED, MAX_WATCHERS + " watchers of the sandbox list are connected, the most this daemon serves; "
          + "close one (a console tab) or list with GET /v1/sandboxes");
    }
    try {
      x.setHeader("Cache-Control", "no-store");
      x.setHeader("X-Accel-Buffering", "no");
      new Watch(x.rawOutput(200, "text/event-stream"), shown).run();
    } catch (IOException gone) {
      // the client closed the stream: what a watch ends with
    } finally {
      watchers.release();
    }
  }

  private final class Watch {
    private final OutputStream out;
    private final Predicate<Sandbox> shown;
    private final Map<String, Map<String, Object>> sent = new HashMap<>();
    /** Each running sandbox's CPU time at the reading before: the next makes a rate of it. */
    private final Map<String, long[]> cpuBefore = new HashMap<>();
    private long seq;
    private long lastWrite = System.nanoTime();

    Watch(OutputStream out, Predicate<Sandbox> shown) {
      this.out = out;
      this.shown = shown;
    }

    void run() throws IOException, InterruptedException {
      seq = sandboxes.lastEventSeq();
      Reading r = read();
      List<Map<String, Object>> all = new ArrayList<>();
      for (Sandbox s : r.all()) {
        if (!shown.test(s)) continue;
        Map<String, Object> v = SandboxRoutes.view(s);
        sent.put(s.id(), v);
        all.add(v);
      }
      send("sandboxes", Map.of("sandboxes", all));
      sendUsage(r);
      while (!Thread.currentThread().isInterrupted()) {
        Thread.sleep(TICK.toMillis());
        tick();
      }
    }

    private void tick() throws IOException {
      Reading r = read();
      Set<String> seen = new HashSet<>();
      for (Sandbox s : r.all()) {
        if (!shown.test(s)) continue;
        seen.add(s.id());
        Map<String, Object> v = SandboxRoutes.view(s);
        if (!v.equals(sent.put(s.id(), v))) send("changed", v);
      }
      for (String gone : new ArrayList<>(sent.keySet())) {
        if (seen.contains(gone)) continue;
        sent.remove(gone);
        cpuBefore.remove(gone);
        send("removed", Map.of("id", gone));
      }
      for (EventRepository.Event e : sandboxes.eventsAfter(seq, EVENTS_PER_TICK)) {
        seq = e.seq();
        if (!seen.contains(e.sandboxId())) continue;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("sandboxId", e.sandboxId());
        m.put("seq", e.seq());
        m.put("at", e.at().toString());
        m.put("kind", e.kind());
        m.put("message", e.message());
        send("event", m);
      }
      sendUsage(r);
      if (System.nanoTime() - lastWrite > KEEP_ALIVE.toNanos()) write(": keep-alive\n\n");
    }

    private void sendUsage(Reading r) throws IOException {
      Map<String, Object> usage = new LinkedHashMap<>();
      cpuBefore.keySet().retainAll(r.usage().keySet());
      for (Map.Entry<String, Cgroups.Usage> e : r.usage().entrySet()) {
        if (!sent.containsKey(e.getKey())) continue;
        Cgroups.Usage u = e.getValue();
        long[] before = cpuBefore.put(e.getKey(), new long[] {u.cpuNanos(), r.atNanos()});
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpuPercent", before == null || r.atNanos() <= before[1] ? null : Math.max(0, Math.round((u.cpuNanos() - before[0]) * 1000.0 / (r.atNanos() - before[1])) / 10.0));
        m.put("memoryBytes", u.memoryBytes());
        m.put("memoryLimitBytes", u.memoryLimitBytes() < 0 ? null : u.memoryLimitBytes());
        usage.put(e.getKey(), m);
      }
      if (!usage.isEmpty()) send("usage", Map.of("usage", usage));
    }

    private void send(String event, Object data) throws IOException {
      write("event: " + event + "\ndata: " + Exchange.JSON.writeValueAsString(data) + "\n\n");
    }

    private void write(String text) throws IOException {
      out.write(text.getBytes(StandardCharsets.UTF_8));
      out.flush();
      lastWrite = System.nanoTime();
    }
  }

  static boolean wanted(Exchange x) {
    return Objects.equals(x.query("watch"), "true");
  }
}
