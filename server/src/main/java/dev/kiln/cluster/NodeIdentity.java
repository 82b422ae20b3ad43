package dev.kiln.cluster;

import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;

/**
 * A node's id, made at its first start and kept in {@code <data-dir>/node-id} (temp file, fsync,
 * rename): a restarted daemon is the same node, so its row, cordon and sandboxes stay its own. A
 * new data directory is a new node.
 */
public final class NodeIdentity {
  private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
  private static final SecureRandom RANDOM = new SecureRandom();

  private NodeIdentity() {}

  public static String loadOrCreate(Path dataDir) throws IOException {
    Path file = dataDir.resolve("node-id");
    if (Files.exists(file)) {
      String id = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (!id.matches("nd-[a-z0-9]{16}")) throw new IOException(file + " does not hold a node id (nd- and 16 of a-z0-9); remove it to make a new node");
      return id;
    }
    StringBuilder b = new StringBuilder("nd-");
    for (int i = 0; i < 16; i++) b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    AtomicFiles.write(file, (b + "\n").getBytes(StandardCharsets.UTF_8));
    return b.toString();
  }
}
