package dev.kiln.cluster;

import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sandbox TTLs in a cluster: the control instance that leads the {@value #JOB} job finds the
 * sandboxes whose TTL has passed and asks the node that runs each to expire it (the node decides
 * again under the sandbox's lock, so a TTL extended meanwhile wins). When the leader dies, another
 * control instance takes the lease within its term and the next pass is its.
 */
public final class ClusterTtl {
  public static final String JOB = "ttl-reaper";
  /** The node's route for it: internal, answered only with the node's credential. */
  public static final String EXPIRE_PATH = "/internal/v1/sandboxes/%s/expire";
  private static final Logger log = LoggerFactory.getLogger(ClusterTtl.class);
  private static final int CONCURRENCY = 8;
  private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(2);

  private final SandboxRepository sandboxes;
  private final NodeRegistry nodes;
  private final Leadership leadership;
  private final HttpClient http;
  private final Semaphore slots = new Semaphore(CONCURRENCY);
  private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

  public ClusterTtl(SandboxRepository sandboxes, NodeRegistry nodes, Leadership leadership, HttpClient http) {
    this.sandboxes = sandboxes;
    this.nodes = nodes;
    this.leadership = leadership;
    this.http = http;
  }

  /** One pass, every second on every control instance; only the leader's does anything. Returns at once. */
  public void pass() {
    if (!leadership.leads(JOB)) return;
    Instant now = Instant.now();
    for (SandboxRow r : sandboxes.all()) {
      if (!r.expiryDue(now) || r.nodeId().isEmpty() || !inFlight.add(r.id())) continue;
      Thread.ofVirtual().name("ttl-" + r.id()).start(() -> {
        try {
          slots.acquire();
          try {
            expireOnNode(r);
          } finally {
            slots.release();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          inFlight.remove(r.id());
        }
      });
    }
  }

  private void expireOnNode(SandboxRow r) throws InterruptedException {
    Optional<NodeRoute> node = nodes.route(r.nodeId()).filter(NodeRoute::up);
    if (node.isEmpty()) return; // a lost sandbox expires once its node is back
    URI uri = node.get().api().resolve(String.format(EXPIRE_PATH, r.id()));
    HttpRequest req = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).header(NodeCredential.HEADER, node.get().credential().value())
        .POST(HttpRequest.BodyPublishers.noBody()).build();
    try {
      HttpResponse<String> answer = http.send(req, HttpResponse.BodyHandlers.ofString());
      if (answer.statusCode() / 100 == 2) {
        log.info("sandbox ttl expired by the control plane sandbox={} node={}", r.id(), r.nodeId());
      } else if (answer.statusCode() != 404) {
        log.warn("node={} did not expire sandbox={}: HTTP {} {}", r.nodeId(), r.id(), answer.statusCode(), answer.body());
      }
    } catch (java.io.IOException e) {
      log.warn("node={} unreachable to expire sandbox={}: {} (retried next pass)", r.nodeId(), r.id(), e.getMessage());
    }
  }
}
