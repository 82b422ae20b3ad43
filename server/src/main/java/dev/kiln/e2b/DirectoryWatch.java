package dev.kiln.e2b;

import dev.kiln.agent.FileEntry;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.SandboxOperations;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * WatchDir: the directory (and with {@code recursive} its subdirectories) listed through the agent
 * every {@link #POLL} and compared with the last listing, a new name a CREATE (and a WRITE too
 * for a file with content, as inotify tells one), a changed size or mtime a WRITE, a name gone a
 * REMOVE. Kiln's agent has no inotify, so a file made and removed
 * between two polls goes unseen, and a rename shows as a REMOVE and a CREATE (docs/e2b.md).
 */
final class DirectoryWatch {
  static final Duration POLL = Duration.ofMillis(200);
  /** A recursive watch of more than this many entries is refused: each poll lists them all. */
  static final int MAX_WATCHED = 5_000;
  private static final int MAX_DEPTH = 16;
  private static final Duration MAX_QUIET = Duration.ofSeconds(5);
  private final SandboxOperations ops;

  DirectoryWatch(SandboxOperations ops) {
    this.ops = ops;
  }

  private record Seen(FileEntry.Kind kind, long size, Instant mtime) {}

  void stream(EnvdCall call, String dir, boolean recursive, boolean includeEntry) throws InterruptedException {
    // Often, whatever the SDK asks: a write is how a watch learns its client has gone, and each poll costs the guest.
    Duration keepalive = Envd.keepaliveInterval(call.exchange()).filter(k -> k.compareTo(MAX_QUIET) < 0).orElse(MAX_QUIET);
    Optional<Instant> until = Envd.deadline(call.exchange()).filter(d -> !d.isZero()).map(d -> Instant.now().plus(d));
    Map<String, Seen> before = snapshot(call.sandboxId(), dir, recursive);
    try (ConnectStream stream = ConnectStream.open(call.exchange())) {
      stream.send(Map.of("start", Map.of()));
      long quietSince = System.nanoTime();
      while (until.isEmpty() || Instant.now().isBefore(until.get())) {
        Thread.sleep(POLL);
        Map<String, Seen> now;
        try {
          now = snapshot(call.sandboxId(), dir, recursive);
        } catch (KilnException e) {
          stream.fail(ConnectCode.of(e.code()), e.getMessage());
          return;
        } catch (ConnectException e) {
          stream.fail(e.code, e.getMessage());
          return;
        }
        boolean sent = false;
        for (Map.Entry<String, Seen> e : now.entrySet()) {
          Seen old = before.get(e.getKey());
          Seen seen = e.getValue();
          if (old == null) {
            sent |= send(stream, call, dir, e.getKey(), "EVENT_TYPE_CREATE", includeEntry);
            // inotify (envd's) tells a file made with content as a create and then a write.
            if (seen.kind() == FileEntry.Kind.FILE && seen.size() > 0) sent |= send(stream, call, dir, e.getKey(), "EVENT_TYPE_WRITE", includeEntry);
          } else if (old.size() != seen.size() || !old.mtime().equals(seen.mtime())) {
            sent |= send(stream, call, dir, e.getKey(), "EVENT_TYPE_WRITE", includeEntry);
          }
        }
        for (String gone : before.keySet()) {
          if (!now.containsKey(gone)) sent |= send(stream, call, dir, gone, "EVENT_TYPE_REMOVE", false);
        }
        before = now;
        if (sent) {
          quietSince = System.nanoTime();
        } else if (System.nanoTime() - quietSince > keepalive.toNanos()) {
          stream.send(Map.of("keepalive", Map.of()));
          quietSince = System.nanoTime();
        }
      }
    } catch (IOException e) {
      // The client stopped the watch.
    }
  }

  /** Sends one event; true, so that a poll can say it sent any. */
  private boolean send(ConnectStream stream, EnvdCall call, String dir, String name, String type, boolean includeEntry) throws IOException, InterruptedException {
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("name", name);
    event.put("type", type);
    if (includeEntry) {
      String path = EnvdCall.child(dir, name);
      try {
        event.put("entry", FilesystemRpc.entry(path, ops.stat(call.sandboxId(), path)));
      } catch (KilnException e) {
        // Gone again already: the event stands without its entry.
      }
    }
    stream.send(Map.of("filesystem", event));
    return true;
  }

  /** Every entry under {@code dir} by its path relative to it. */
  private Map<String, Seen> snapshot(String id, String dir, boolean recursive) throws InterruptedException {
    Map<String, Seen> out = new HashMap<>();
    walk(id, dir, "", recursive, 0, out);
    return out;
  }

  private void walk(String id, String dir, String prefix, boolean recursive, int depth, Map<String, Seen> out) throws InterruptedException {
    for (FileEntry e : ops.list(id, dir)) {
      if (out.size() >= MAX_WATCHED) throw new ConnectException(ConnectCode.RESOURCE_EXHAUSTED, "the watched tree has more than " + MAX_WATCHED + " entries");
      String rel = prefix + e.name();
      out.put(rel, new Seen(e.kind(), e.size(), e.mtime()));
      if (recursive && depth < MAX_DEPTH && e.kind() == FileEntry.Kind.DIRECTORY) {
        try {
          walk(id, EnvdCall.child(dir, e.name()), rel + "/", true, depth + 1, out);
        } catch (KilnException gone) {
          // Removed between the listing and this walk: the next poll sees it gone.
        }
      }
    }
  }
}
