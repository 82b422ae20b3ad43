package dev.kiln.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.host.SocketInput;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A QMP client: reads the greeting, negotiates capabilities, then sends commands tagged with ids
 * and matches their replies, while a reader thread passes asynchronous events to a listener.
 * Lines longer than {@link #MAX_LINE} are refused: QMP replies we ask for are small.
 */
public final class QmpClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(QmpClient.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_LINE = 1 << 20;

  private final String label;
  private final SocketChannel channel;
  private final OutputStream out;
  private final Map<String, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final Consumer<QmpEvent> events;
  private final CompletableFuture<JsonNode> greeting = new CompletableFuture<>();

  /** An asynchronous QMP event such as SHUTDOWN or STOP. */
  public record QmpEvent(String name, JsonNode data) {}

  private QmpClient(String label, SocketChannel channel, Consumer<QmpEvent> events) {
    this.label = label;
    this.channel = channel;
    this.out = Channels.newOutputStream(channel);
    this.events = events;
    Thread.ofVirtual().name("qmp-reader-" + label).start(this::readLoop);
  }

  public static QmpClient connect(Path socket, String label, Duration timeout, Consumer<QmpEvent> events) throws VmmException, InterruptedException {
    SocketChannel ch;
    try {
      ch = dev.kiln.host.UnixPeers.connect(socket); // QEMU could have put a link to another VM's socket here
    } catch (IOException e) {
      throw new VmmException("cannot connect to QMP socket " + socket + ": " + e.getMessage(), e);
    }
    QmpClient c = new QmpClient(label, ch, events);
    try {
      await(c.greeting, timeout, "QMP greeting");
      c.execute("qmp_capabilities", null, timeout);
      return c;
    } catch (VmmException | InterruptedException e) {
      c.close();
      throw e;
    }
  }

  /** Runs one command and returns its "return" value; a QMP error becomes a {@link VmmException}. */
  public JsonNode execute(String command, Map<String, ?> arguments, Duration timeout) throws VmmException, InterruptedException {
    String id = "k" + ids.incrementAndGet();
    ObjectNode msg = JSON.createObjectNode().put("execute", command).put("id", id);
    if (arguments != null) msg.set("arguments", JSON.valueToTree(arguments));
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    pending.put(id, reply);
    try {
      synchronized (out) {
        out.write((JSON.writeValueAsString(msg) + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
      }
      JsonNode r = await(reply, timeout, "QMP " + command);
      if (r.has("error")) {
        JsonNode e = r.get("error");
        throw new VmmException("QMP " + command + " failed: " + e.path("class").asText() + ": " + e.path("desc").asText());
      }
      return r.path("return");
    } catch (IOException e) {
      throw new VmmException("QMP " + command + " could not be sent to " + label + ": " + e.getMessage(), e);
    } finally {
      pending.remove(id);
    }
  }

  private static JsonNode await(CompletableFuture<JsonNode> f, Duration timeout, String what) throws VmmException, InterruptedException {
    try {
      return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new VmmException(what + ": no answer within " + timeout.toMillis() + " ms");
    } catch (ExecutionException e) {
      throw new VmmException(what + ": " + e.getCause().getMessage(), e.getCause());
    }
  }

  private void readLoop() {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(new SocketInput(channel), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.length() > MAX_LINE) throw new IOException("QMP line of " + line.length() + " chars");
        JsonNode n = JSON.readTree(line);
        if (n.has("QMP")) {
          greeting.complete(n);
        } else if (n.has("event")) {
          events.accept(new QmpEvent(n.get("event").asText(), n.path("data")));
        } else if (n.has("id")) {
          CompletableFuture<JsonNode> f = pending.get(n.get("id").asText());
          if (f != null) f.complete(n);
        }
      }
      failAll(new IOException("QMP connection closed"));
    } catch (IOException | RuntimeException e) {
      failAll(e);
    }
  }

  private void failAll(Exception e) {
    greeting.completeExceptionally(e);
    pending.values().forEach(f -> f.completeExceptionally(e));
    log.debug("qmp reader ended vm={} cause={}", label, e.toString());
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      log.debug("closing QMP socket of {}: {}", label, e.toString());
    }
  }
}
