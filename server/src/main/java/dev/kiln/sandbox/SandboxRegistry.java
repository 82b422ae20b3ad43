package dev.kiln.sandbox;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The in-memory half of every sandbox that has a row: one {@link LiveSandbox} (lifecycle lock, VM,
 * agent) per id, for as long as the row exists. An entry is added with its row (create, fork,
 * recovery after a restart) and removed only by the delete that tears the sandbox down, under its
 * lock, after the teardown, marked deleted first. Nothing recreates an entry: two operations on one
 * sandbox always contend for the same lock, and one that waited for the lock while a delete held it
 * finds the entry marked deleted ({@link #lock} answers empty: a 404).
 */
final class SandboxRegistry {
  private final Map<SandboxId, LiveSandbox> entries = new ConcurrentHashMap<>();

  /** The entry of a sandbox whose row is being inserted (or re-read at recovery); an id has one entry at most. */
  LiveSandbox add(SandboxId id) {
    LiveSandbox sb = new LiveSandbox(id);
    LiveSandbox before = entries.putIfAbsent(id, sb);
    if (before != null) throw new IllegalStateException("sandbox " + id + " is registered already");
    return sb;
  }

  Optional<LiveSandbox> find(SandboxId id) {
    return Optional.ofNullable(entries.get(id));
  }

  /**
   * Takes the sandbox's lifecycle lock and re-validates the entry once it is held. Returns the
   * entry, locked, if it still stands for a sandbox; empty, with no lock held, if there is none or
   * a delete finished while this waited. The caller unlocks {@code sb.lifecycle}.
   */
  Optional<LiveSandbox> lock(SandboxId id, LifecycleSeam seam) {
    LiveSandbox sb = entries.get(id);
    if (sb == null) return Optional.empty();
    seam.at(LifecycleSeam.Point.LOCKING, id.value());
    sb.lifecycle.lock();
    seam.at(LifecycleSeam.Point.LOCKED, id.value());
    if (sb.deleted) {
      sb.lifecycle.unlock();
      return Optional.empty();
    }
    return Optional.of(sb);
  }

  /** Ends an entry for good, under its lock, once the sandbox's teardown is over and its row is gone. */
  void removeDeleted(LiveSandbox sb) {
    if (!sb.lifecycle.isHeldByCurrentThread()) throw new IllegalStateException("sandbox " + sb.id + " removed without its lock");
    sb.deleted = true;
    entries.remove(sb.id, sb);
  }

  Collection<LiveSandbox> all() {
    return List.copyOf(entries.values());
  }

  /** For the daemon's shutdown: the entries go with the process (the next daemon re-reads the rows). */
  void clear() {
    entries.clear();
  }
}
