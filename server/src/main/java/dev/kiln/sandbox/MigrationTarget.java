package dev.kiln.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * The node a sandbox moves to, as the source node reaches it: each step of a live migration
 * (docs/adr/0019), in order. A failed step throws with the target's reason; the source then takes
 * the sandbox back and tells the target to {@link #abort}.
 */
public interface MigrationTarget {
  String nodeId();

  String nodeName();

  /** The target gets the disk's frozen layers and a network with the sandbox's rules ready. */
  void prepare(MigrationOffer offer) throws IOException, InterruptedException;

  /** The background processes and their kept output, taken once the guest holds their output. */
  void sendProcesses(String migrationId, List<MovedProcess> processes) throws IOException, InterruptedException;

  /** The VM's migration stream, read to its end; returns once the target's VM has loaded it. */
  void sendMemory(String migrationId, InputStream stream) throws IOException, InterruptedException;

  /** The disk's top layer as the stopped VM left it. */
  void sendDisk(String migrationId, Path top) throws IOException, InterruptedException;

  /** The target records the sandbox as its own (compare-and-set) and runs it; returns once it does. */
  void commit(String migrationId) throws IOException, InterruptedException;

  /**
   * Hands a paused sandbox over (a drain): the target takes its saved state from the bucket and its
   * row (compare-and-set), as it takes over one whose node is down.
   */
  void adoptPaused(String sandboxId) throws IOException, InterruptedException;

  /** Best effort: the target drops what it prepared (it also does on its own after a while). */
  void abort(String migrationId);
}
