package dev.kiln.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.cluster.NodeCredential;
import dev.kiln.cluster.NodeDirectory;
import dev.kiln.cluster.NodeRoute;
import dev.kiln.sandbox.MigrationOffer;
import dev.kiln.sandbox.MigrationTarget;
import dev.kiln.sandbox.MigrationTargets;
import dev.kiln.sandbox.MovedProcess;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a node reaches the node its sandbox moves to (docs/adr/0019): the target's internal
 * migration routes on its API address, with the target's own credential, which nodes read from the
 * store like the control plane does. Streams go as request bodies, never held whole.
 */
public final class NodeMigrationTargets implements MigrationTargets, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeMigrationTargets.class);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /** A step that moves no stream answers in seconds; the prepare may fetch layers from the bucket. */
  private static final Duration STEP_TIMEOUT = Duration.ofMinutes(10);
  private final NodeDirectory directory;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT)
      .followRedirects(HttpClient.Redirect.NEVER).executor(Executors.newVirtualThreadPerTaskExecutor()).build();

  public NodeMigrationTargets(NodeDirectory directory) {
    this.directory = directory;
  }

  @Override
  public MigrationTarget choose(String sandboxId, Optional<String> node) {
    return new Target(directory.forMove(sandboxId, node));
  }

  @Override
  public void close() {
    client.close();
  }

  private final class Target implements MigrationTarget {
    private final NodeRoute node;

    Target(NodeRoute node) {
      this.node = node;
    }

    @Override
    public String nodeId() {
      return node.nodeId();
    }

    @Override
    public String nodeName() {
      return node.nodeName();
    }

    @Override
    public void prepare(MigrationOffer offer) throws IOException, InterruptedException {
      post(MigrationRoutes.PREPARE, HttpRequest.BodyPublishers.ofByteArray(Exchange.JSON.writeValueAsBytes(offer)));
    }

    @Override
    public void sendProcesses(String migrationId, List<MovedProcess> processes) throws IOException, InterruptedException {
      post(step(migrationId, "processes"), HttpRequest.BodyPublishers.ofByteArray(Exchange.JSON.writeValueAsBytes(processes)));
    }

    @Override
    public void sendMemory(String migrationId, InputStream stream) throws IOException, InterruptedException {
      post(step(migrationId, "memory"), HttpRequest.BodyPublishers.ofInputStream(() -> stream));
    }

    @Override
    public void sendDisk(String migrationId, Path top) throws IOException, InterruptedException {
      post(step(migrationId, "disk"), HttpRequest.BodyPublishers.ofFile(top));
    }

    @Override
    public void commit(String migrationId) throws IOException, InterruptedException {
      post(step(migrationId, "commit"), HttpRequest.BodyPublishers.noBody());
    }

    @Override
    public void adoptPaused(String sandboxId) throws IOException, InterruptedException {
      post(NodeInternalRoutes.path(NodeInternalRoutes.ADOPT, sandboxId, null), HttpRequest.BodyPublishers.noBody());
    }

    @Override
    public void abort(String migrationId) {
      try {
        post(step(migrationId, "abort"), HttpRequest.BodyPublishers.noBody());
      } catch (IOException e) {
        log.warn("migration={} abort not delivered to node={}: {} (it drops the arrival on its own)", migrationId, node.nodeId(), e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    private static String step(String migrationId, String step) {
      return MigrationRoutes.STEP.replace("{migration}", migrationId) + step;
    }

    /** One step; its error body's message, or that the node did not answer, as the IOException the migration reports. */
    private void post(String path, HttpRequest.BodyPublisher body) throws IOException, InterruptedException {
      URI uri = URI.create(node.api().getScheme() + "://" + node.api().getRawAuthority() + path);
      HttpRequest req = HttpRequest.newBuilder(uri).timeout(STEP_TIMEOUT).header(NodeCredential.HEADER, node.credential().value())
          .header("Content-Type", "application/octet-stream").POST(body).build();
      HttpResponse<byte[]> answer;
      try {
        answer = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
      } catch (IOException e) {
        throw new IOException("node " + node.nodeName() + " stopped answering" + (e.getMessage() == null ? "" : ": " + e.getMessage()), e);
      }
      if (answer.statusCode() / 100 != 2) throw new IOException("node " + node.nodeName() + " refused: " + messageOf(answer));
    }

    private static String messageOf(HttpResponse<byte[]> answer) {
      try {
        JsonNode error = Exchange.JSON.readTree(answer.body()).path("error");
        if (error.path("message").isTextual()) return error.path("message").asText();
      } catch (IOException e) {
        // not the API's error body: the status says enough
      }
      return "HTTP " + answer.statusCode();
    }
  }
}
