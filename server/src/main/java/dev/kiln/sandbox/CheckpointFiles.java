package dev.kiln.sandbox;

import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Where checkpoint states live: {@code checkpoints/<sandbox>/<checkpoint>/state}; they go with their sandbox. */
record CheckpointFiles(Path root) {
  private static final Logger log = LoggerFactory.getLogger(CheckpointFiles.class);

  Path state(String sandboxId, String checkpointId) {
    return root.resolve(sandboxId).resolve(checkpointId).resolve("state");
  }

  /** Where a fork of the live state saves it for as long as the fork's restores take. */
  Path liveForkState(String sandboxId) {
    return root.resolve(sandboxId).resolve("fork-" + SandboxId.random().value().substring(3)).resolve("state");
  }

  void removeOf(String sandboxId) {
    removeQuietly(root.resolve(sandboxId));
  }

  /** Removes a checkpoint's (or a live fork's) directory: the one that holds {@code state}. */
  void removeState(Path state) {
    removeQuietly(state.getParent());
  }

  private static void removeQuietly(Path p) {
    try {
      AtomicFiles.deleteTree(p);
    } catch (IOException e) {
      log.warn("could not remove {}: {}", p, e.toString());
    }
  }
}
