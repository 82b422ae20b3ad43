package dev.kiln.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The last record this daemon appended to its chain, kept outside the store (in its data
 * directory, root's): a chain whose last records were removed still links up, and only this
 * says it once was longer. It also keeps the chain's name across restarts.
 */
final class AuditHead {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path file;

  record Head(String chain, long seq, String hash) {}

  AuditHead(Path file) {
    this.file = file;
  }

  Optional<Head> read() throws IOException {
    if (!Files.exists(file)) return Optional.empty();
    JsonNode n = JSON.readTree(Files.readAllBytes(file));
    if (!n.path("chain").isTextual() || !n.path("seq").canConvertToLong() || !n.path("hash").isTextual()) {
      throw new IOException(file + " is not an audit head (chain, seq, hash)");
    }
    return Optional.of(new Head(n.path("chain").asText(), n.path("seq").asLong(), n.path("hash").asText()));
  }

  void write(Head h) throws IOException {
    AtomicFiles.write(file, JSON.writeValueAsBytes(Map.of("chain", h.chain(), "seq", h.seq(), "hash", h.hash())));
  }
}
