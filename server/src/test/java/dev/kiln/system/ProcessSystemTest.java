package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Background processes: streamed output as NDJSON, stdin, signals, re-attach with replay, bounded scrollback. */
@Tag("system")
class ProcessSystemTest extends OneSandboxTest {
  private static long start(Map<String, Object> body) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + sandbox + "/processes", body);
    assertEquals(201, r.status(), r.raw());
    // A command that ends at once (exit 7) may have ended by the time its view is written.
    assertTrue(Set.of("running", "exited").contains(r.json().path("status").asText()), r.raw());
    return r.json().path("pid").asLong();
  }

  /** One NDJSON line as it arrived, with when. */
  private record Line(long atNanos, JsonNode json) {}

  private static List<Line> output(long pid, long cursor, boolean follow) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/output?cursor=" + cursor
        + (follow ? "&follow=true" : ""))).header("Authorization", "Bearer " + host.key).build();
    HttpResponse<java.io.InputStream> r = host.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, r.statusCode());
    assertEquals("application/x-ndjson", r.headers().firstValue("Content-Type").orElse(""));
    List<Line> lines = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
      for (String l; (l = in.readLine()) != null; ) lines.add(new Line(System.nanoTime(), TestHost.JSON.readTree(l)));
    }
    return lines;
  }

  private static String stdout(List<Line> lines) {
    StringBuilder b = new StringBuilder();
    for (Line l : lines) {
      if (l.json().path("type").asText().equals("output") && l.json().path("stream").asText().equals("stdout")) {
        b.append(new String(Base64.getDecoder().decode(l.json().path("data").asText()), StandardCharsets.UTF_8));
      }
    }
    return b.toString();
  }

  private static JsonNode last(List<Line> lines) {
    return lines.getLast().json();
  }

  @Test
  void outputStreamsWhileTheCommandRuns() throws Exception {
    long pid = start(Map.of("command", "for i in 1 2 3 4 5; do echo line$i; sleep 0.3; done"));
    List<Line> lines = output(pid, 0, true);
    assertEquals("line1\nline2\nline3\nline4\nline5\n", stdout(lines));
    assertEquals("exit", last(lines).path("type").asText());
    assertEquals(0, last(lines).path("exitCode").asInt(-1));
    Line firstOutput = lines.stream().filter(l -> l.json().path("type").asText().equals("output")).findFirst().orElseThrow();
    assertTrue(lines.getLast().atNanos() - firstOutput.atNanos() > 800_000_000L,
        "the first line arrived well before the exit, not all at the end");
  }

  @Test
  void stdinReachesTheProcess() throws Exception {
    long pid = start(Map.of("argv", List.of("cat"), "stdin", true));
    HttpRequest req = HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/stdin?close=true"))
        .header("Authorization", "Bearer " + host.key).POST(HttpRequest.BodyPublishers.ofString("hello\nworld\n")).build();
    assertEquals(204, host.http.send(req, HttpResponse.BodyHandlers.ofString()).statusCode());
    List<Line> lines = output(pid, 0, true);
    assertEquals("hello\nworld\n", stdout(lines));
    assertEquals(0, last(lines).path("exitCode").asInt(-1));
  }

  @Test
  void ctrlCBySignal() throws Exception {
    long pid = start(Map.of("argv", List.of("sleep", "1000")));
    assertEquals(400, host.call("POST", "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/signal", Map.of("signal", "SIGNOPE")).status());
    assertEquals(204, host.call("POST", "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/signal", Map.of("signal", "SIGINT")).status());
    List<Line> lines = output(pid, 0, true);
    assertEquals(2, last(lines).path("signal").asInt(), lines.toString());
    JsonNode view = host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/" + pid, null).json();
    assertEquals("exited", view.path("status").asText());
    assertEquals(409, host.call("POST", "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/signal", Map.of("signal", 15)).status(),
        "an exited process cannot be signalled");
  }

  @Test
  void aReaderReattachesFromItsCursorAndGetsWhatFollowed() throws Exception {
    long pid = start(Map.of("command", "seq 1 200; sleep 1; seq 201 400"));
    // Once the first part is out (and, the second a second away, before the rest), a client reads what is there and goes away.
    List<List<Line>> read = new java.util.ArrayList<>();
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> {
      read.add(0, output(pid, 0, false));
      return stdout(read.get(0)).contains("\n200\n");
    });
    List<Line> first = read.get(0);
    assertEquals("replayed", last(first).path("type").asText());
    long cursor = last(first).path("cursor").asLong();
    List<Line> rest = output(pid, cursor, true);
    StringBuilder expected = new StringBuilder();
    for (int i = 1; i <= 400; i++) expected.append(i).append('\n');
    assertEquals(expected.toString(), stdout(first) + stdout(rest), "nothing lost, nothing repeated across the re-attach");
    assertEquals(expected.toString(), stdout(output(pid, 0, false)), "a finished process's output can be replayed from the start");
  }

  @Test
  void scrollbackOverflowIsReportedNotSilent() throws Exception {
    long pid = start(Map.of("command", "head -c 3145728 /dev/zero | tr '\\0' a"));
    // Nobody reads while it writes: by the end only the last 1 MiB is kept.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(1))
        .until(() -> host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/" + pid, null).json().path("status").asText().equals("exited"));
    List<Line> lines = output(pid, 0, false);
    JsonNode overflow = lines.getFirst().json();
    assertEquals("overflow", overflow.path("type").asText(), lines.getFirst().toString());
    assertEquals(2 << 20, overflow.path("droppedBytes").asLong(), "3 MiB written, 1 MiB kept");
    assertEquals(1 << 20, stdout(lines).length());
  }

  @Test
  void processesAreListedWithTheirExitCodes() throws Exception {
    long pid = start(Map.of("command", "exit 7"));
    output(pid, 0, true);
    JsonNode list = host.call("GET", "/v1/sandboxes/" + sandbox + "/processes", null).json().path("processes");
    JsonNode mine = null;
    for (JsonNode p : list) if (p.path("pid").asLong() == pid) mine = p;
    assertEquals(7, mine.path("exitCode").asInt(-1), list.toString());
    assertEquals(404, host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/999999", null).status());
    assertEquals(400, host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/abc", null).status());
    assertEquals(400, host.call("POST", "/v1/sandboxes/" + sandbox + "/processes", Map.of("argv", List.of())).status());
    assertEquals(400, host.call("POST", "/v1/sandboxes/" + sandbox + "/processes", Map.of("argv", List.of("/no/such")))
        .status(), "a binary that does not exist is the request's fault");
  }

  /** What a WebSocket client of a process received: its messages, whole, by type byte. */
  private static final class SocketClient implements java.net.http.WebSocket.Listener {
    final java.util.concurrent.LinkedBlockingQueue<byte[]> messages = new java.util.concurrent.LinkedBlockingQueue<>();
    final java.util.concurrent.CompletableFuture<Integer> closed = new java.util.concurrent.CompletableFuture<>();
    private final java.io.ByteArrayOutputStream partial = new java.io.ByteArrayOutputStream();

    @Override
    public java.util.concurrent.CompletionStage<?> onBinary(java.net.http.WebSocket ws, java.nio.ByteBuffer data, boolean last) {
      byte[] b = new byte[data.remaining()];
      data.get(b);
      partial.writeBytes(b);
      if (last) {
        messages.add(partial.toByteArray());
        partial.reset();
      }
      ws.request(1);
      return null;
    }

    @Override
    public java.util.concurrent.CompletionStage<?> onClose(java.net.http.WebSocket ws, int status, String reason) {
      closed.complete(status);
      return null;
    }

    byte[] next() throws InterruptedException {
      byte[] m = messages.poll(60, java.util.concurrent.TimeUnit.SECONDS);
      if (m == null) throw new AssertionError("no message within 60 s");
      return m;
    }
  }

  private static java.net.http.WebSocket connect(long pid, long cursor, SocketClient client) throws Exception {
    return host.http.newWebSocketBuilder().header("Authorization", "Bearer " + host.key)
        .buildAsync(URI.create(host.base.replace("http://", "ws://") + "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/ws?cursor=" + cursor), client)
        .get(30, java.util.concurrent.TimeUnit.SECONDS);
  }

  @Test
  void aProcessWithAKeepAliveRunsWhileAClientIsAttachedAndIsKilledOnceNoneIsForThatLong() throws Exception {
    long unattended = start(Map.of("command", "sleep 1000", "keepAliveSeconds", 2));
    long attended = start(Map.of("command", "sleep 1000", "keepAliveSeconds", 2));
    long forever = start(Map.of("command", "sleep 1000"));
    SocketClient client = new SocketClient();
    java.net.http.WebSocket ws = connect(attended, 0, client);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> !process(unattended).path("status").asText().equals("running"));
    JsonNode killed = process(unattended);
    assertEquals(9, killed.path("signal").asInt(), killed.toString());
    assertTrue(killed.path("killedUnattended").asBoolean(), killed.toString());
    // A client is attached: it runs on, well past its keep-alive of 2 s.
    org.awaitility.Awaitility.await().during(java.time.Duration.ofSeconds(3)).atMost(java.time.Duration.ofSeconds(10))
        .until(() -> process(attended).path("status").asText().equals("running"));
    ws.sendClose(java.net.http.WebSocket.NORMAL_CLOSURE, "bye").get(10, java.util.concurrent.TimeUnit.SECONDS);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> !process(attended).path("status").asText().equals("running"));
    assertTrue(process(attended).path("killedUnattended").asBoolean());
    assertEquals("running", process(forever).path("status").asText(), "without a keep-alive it runs until it exits");
    host.call("POST", "/v1/sandboxes/" + sandbox + "/processes/" + forever + "/signal", Map.of("signal", "KILL"));
  }

  private static JsonNode process(long pid) throws Exception {
    return host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/" + pid, null).json();
  }

  @Test
  void aWebSocketClientReattachesWithReplayAfterDroppingItsConnection() throws Exception {
    long pid = start(Map.of("command", "seq 1 100; sleep 2; seq 101 200"));
    SocketClient first = new SocketClient();
    java.net.http.WebSocket ws = connect(pid, 0, first);
    StringBuilder got = new StringBuilder();
    long cursor = -1;
    while (cursor < 0) {
      byte[] m = first.next();
      if (m[0] == 1) got.append(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
      if (m[0] == 4) cursor = java.nio.ByteBuffer.wrap(m, 1, 8).getLong();
    }
    assertEquals(got.length(), cursor, "the end-of-replay cursor counts the bytes replayed");
    ws.abort(); // the client drops; the process runs on

    SocketClient second = new SocketClient();
    connect(pid, cursor, second);
    JsonNode exit = null;
    while (exit == null) {
      byte[] m = second.next();
      if (m[0] == 1) got.append(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
      if (m[0] == 3) exit = TestHost.JSON.readTree(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
    }
    StringBuilder expected = new StringBuilder();
    for (int i = 1; i <= 200; i++) expected.append(i).append('\n');
    assertEquals(expected.toString(), got.toString());
    assertEquals(0, exit.path("exitCode").asInt(-1));
    assertEquals(1000, second.closed.get(30, java.util.concurrent.TimeUnit.SECONDS), "a normal close after the exit");
  }

  @Test
  void stdinThatReachesAProcessThatHasExitedIsMootAndTheClientGetsItsExit() throws Exception {
    TestHost.Reply started = host.call("POST", "/v1/sandboxes/" + sandbox + "/processes", Map.of("command", "exit 3", "stdin", true));
    assertEquals(201, started.status(), started.raw());
    long pid = started.json().path("pid").asLong();
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> process(pid).path("status").asText().equals("exited"));
    SocketClient client = new SocketClient();
    java.net.http.WebSocket ws = connect(pid, 0, client);
    // What a terminal client sends as its own input ends: keys, then the end of stdin, as the process exits.
    // The daemon may have sent the exit and closed already: then the client cannot send, which is the normal end.
    try {
      ws.sendBinary(java.nio.ByteBuffer.wrap(new byte[] {0, 'x', '\n'}), true).get(10, java.util.concurrent.TimeUnit.SECONDS);
      ws.sendBinary(java.nio.ByteBuffer.wrap(new byte[] {6}), true).get(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException closedAlready) {
      assertTrue(closedAlready.getCause() instanceof java.io.IOException, closedAlready.toString());
    }
    JsonNode exit = null;
    while (exit == null) {
      byte[] m = client.next();
      if (m[0] == 3) exit = TestHost.JSON.readTree(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
    }
    assertEquals(3, exit.path("exitCode").asInt(-1));
    assertEquals(1000, client.closed.get(30, java.util.concurrent.TimeUnit.SECONDS), "a normal close after the exit, not a refusal of the input");
  }

  @Test
  void aWebSocketClientWritesStdin() throws Exception {
    long pid = start(Map.of("argv", List.of("cat"), "stdin", true));
    SocketClient client = new SocketClient();
    java.net.http.WebSocket ws = connect(pid, 0, client);
    ws.sendBinary(java.nio.ByteBuffer.wrap("\0ping\n".getBytes(StandardCharsets.UTF_8)), true).get(30, java.util.concurrent.TimeUnit.SECONDS);
    ws.sendBinary(java.nio.ByteBuffer.wrap(new byte[] {6}), true).get(30, java.util.concurrent.TimeUnit.SECONDS);
    StringBuilder out = new StringBuilder();
    while (true) {
      byte[] m = client.next();
      if (m[0] == 1) out.append(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
      if (m[0] == 3) break;
    }
    assertEquals("ping\n", out.toString());
    assertEquals(400, host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/ws", null).status(),
        "without an Upgrade header the route says what it is");
  }

  private static java.net.http.WebSocket startOver(String sandboxId, Map<String, Object> request, SocketClient client) throws Exception {
    String start = java.net.URLEncoder.encode(TestHost.JSON.writeValueAsString(request), StandardCharsets.UTF_8);
    return host.http.newWebSocketBuilder().header("Authorization", "Bearer " + host.key)
        .buildAsync(URI.create(host.base.replace("http://", "ws://") + "/v1/sandboxes/" + sandboxId + "/processes/ws?start=" + start), client)
        .get(30, java.util.concurrent.TimeUnit.SECONDS);
  }

  @Test
  void aWebSocketStartsItsProcessSaysItsPidAndFollowsItFromTheFirstByte() throws Exception {
    java.time.Instant before = java.time.Instant.now().minusSeconds(1);
    SocketClient client = new SocketClient();
    java.net.http.WebSocket ws = startOver(sandbox, Map.of("argv", List.of("sh", "-c", "echo one; read x; echo got $x; exit 4"), "stdin", true), client);
    byte[] started = client.next();
    assertEquals(8, started[0], "the first message says the process started");
    JsonNode view = TestHost.JSON.readTree(java.util.Arrays.copyOfRange(started, 1, started.length));
    long pid = view.path("pid").asLong();
    assertTrue(pid > 0, view.toString());
    assertEquals("running", host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/" + pid, null).json().path("status").asText(),
        "the pid is the process's, as the API lists it");
    ws.sendBinary(java.nio.ByteBuffer.wrap("\0two\n".getBytes(StandardCharsets.UTF_8)), true).get(30, java.util.concurrent.TimeUnit.SECONDS);
    StringBuilder out = new StringBuilder();
    JsonNode exit;
    while (true) {
      byte[] m = client.next();
      if (m[0] == 1) out.append(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
      if (m[0] == 3) {
        exit = TestHost.JSON.readTree(java.util.Arrays.copyOfRange(m, 1, m.length));
        break;
      }
    }
    assertEquals("one\ngot two\n", out.toString());
    assertEquals(4, exit.path("exitCode").asInt(-1), exit.toString());
    assertEquals(1000, client.closed.get(30, java.util.concurrent.TimeUnit.SECONDS));

    host.daemon().audit().flush(java.time.Duration.ofSeconds(30));
    JsonNode audit = host.call("GET", "/v1/audit?sandbox=" + sandbox + "&since=" + before, null).json();
    boolean recorded = false;
    for (JsonNode e : audit.path("records")) {
      if (e.path("action").asText().equals("GET /v1/sandboxes/{id}/processes/ws") && e.path("detail").path("pid").asLong() == pid) {
        assertEquals(201, e.path("status").asInt(), e.toString());
        recorded = true;
      }
    }
    assertTrue(recorded, "a start over a WebSocket is in the audit trail like a POST: " + audit);
  }

  @Test
  void aStartOverAWebSocketThatFailsSaysWhyAndABadRequestIsRefusedBeforeTheUpgrade() throws Exception {
    SocketClient missing = new SocketClient();
    startOver(sandbox, Map.of("argv", List.of("/no/such")), missing);
    byte[] m = missing.next();
    assertEquals(9, m[0], "an error message, not started");
    JsonNode error = TestHost.JSON.readTree(java.util.Arrays.copyOfRange(m, 1, m.length));
    assertEquals(400, error.path("status").asInt(), error.toString());
    assertEquals("COMMAND_NOT_FOUND", error.path("error").path("code").asText(), error.toString());
    assertEquals(1008, missing.closed.get(30, java.util.concurrent.TimeUnit.SECONDS));

    SocketClient gone = new SocketClient();
    startOver("sb-doesnotexist0000", Map.of("argv", List.of("true")), gone);
    byte[] g = gone.next();
    assertEquals(9, g[0]);
    JsonNode notFound = TestHost.JSON.readTree(java.util.Arrays.copyOfRange(g, 1, g.length));
    assertEquals(404, notFound.path("status").asInt(), notFound.toString());
    assertEquals("SANDBOX_NOT_FOUND", notFound.path("error").path("code").asText(), notFound.toString());

    TestHost.Reply malformed = host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/ws?start=" + java.net.URLEncoder.encode("{\"argv\":", StandardCharsets.UTF_8), null);
    assertEquals(400, malformed.status(), malformed.raw());
    assertEquals("INVALID_JSON", malformed.json().path("error").path("code").asText(), malformed.raw());
    TestHost.Reply unknownField = host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/ws?start=" + java.net.URLEncoder.encode("{\"argv\":[\"true\"],\"bogus\":1}", StandardCharsets.UTF_8), null);
    assertEquals(400, unknownField.status(), unknownField.raw());
    assertTrue(unknownField.json().path("error").path("message").asText().contains("bogus"), unknownField.raw());
    TestHost.Reply noStart = host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/ws", null);
    assertEquals(400, noStart.status(), noStart.raw());
    assertTrue(noStart.json().path("error").path("message").asText().contains("start"), noStart.raw());
  }

  @Test
  void aPtySessionSeesItsTerminalResized() throws Exception {
    long pid = start(Map.of("argv", List.of("/bin/sh"), "pty", Map.of("rows", 24, "cols", 80)));
    SocketClient client = new SocketClient();
    java.net.http.WebSocket ws = connect(pid, 0, client);
    ws.sendBinary(java.nio.ByteBuffer.wrap(new byte[] {7, 0, 40, 0, 120}), true).get(30, java.util.concurrent.TimeUnit.SECONDS);
    ws.sendBinary(java.nio.ByteBuffer.wrap("\0stty size\n".getBytes(StandardCharsets.UTF_8)), true).get(30, java.util.concurrent.TimeUnit.SECONDS);
    StringBuilder screen = new StringBuilder();
    while (!screen.toString().contains("40 120\r\n")) {
      byte[] m = client.next();
      assertTrue(m[0] != 2, "a terminal's output is all stdout");
      if (m[0] == 1) screen.append(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
    }
    ws.sendBinary(java.nio.ByteBuffer.wrap("\0exit 3\n".getBytes(StandardCharsets.UTF_8)), true).get(30, java.util.concurrent.TimeUnit.SECONDS);
    JsonNode exit = null;
    while (exit == null) {
      byte[] m = client.next();
      if (m[0] == 3) exit = TestHost.JSON.readTree(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
    }
    assertEquals(3, exit.path("exitCode").asInt(-1));
    long plain = start(Map.of("argv", List.of("sleep", "5")));
    assertEquals(400, host.call("POST", "/v1/sandboxes/" + sandbox + "/processes/" + plain + "/resize", Map.of("rows", 10, "cols", 10)).status(),
        "only a pty process has a terminal to resize");
    host.call("POST", "/v1/sandboxes/" + sandbox + "/processes/" + plain + "/signal", Map.of("signal", "KILL"));
  }

  @Test
  void kilnShellIsALoginTerminalThatEndsWithTheRemoteExitCode() throws Exception {
    // `script` (util-linux) gives the CLI the terminal a person would have.
    org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/bin/script")),
        "skipped: /usr/bin/script (util-linux) is not installed, and kiln shell needs a terminal");
    String javaBin = ProcessHandle.current().info().command().orElse("java");
    String cli = javaBin + " -cp " + System.getProperty("java.class.path") + " dev.kiln.cli.KilnCli shell " + sandbox;
    ProcessBuilder pb = new ProcessBuilder("script", "-qec", "stty rows 33 cols 99; exec " + cli, "/dev/null").redirectErrorStream(true);
    pb.environment().put("KILN_URL", host.base);
    pb.environment().put("KILN_API_KEY", host.key);
    Process p = pb.start();
    java.io.ByteArrayOutputStream screen = new java.io.ByteArrayOutputStream();
    Thread reader = Thread.ofVirtual().start(() -> {
      try (var in = p.getInputStream()) {
        in.transferTo(screen);
      } catch (java.io.IOException e) {
        // ends with the process
      }
    });
    try (var keys = p.getOutputStream()) {
      // A login shell, like ssh: root's shell from the guest's passwd (busybox's is /bin/sh), in its
      // home, on a host named by the sandbox's id (this one booted: no snapshot in this class).
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(1)).until(() -> screen.toString().contains("# "));
      keys.write("stty size; echo \"[[$0:$(pwd):$HOME:$(hostname)]]\"\n".getBytes(StandardCharsets.UTF_8));
      keys.flush();
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(1)).until(() -> screen.toString().contains("[[-sh:/root:/root:" + sandbox + "]]"));
      keys.write("exit 7\n".getBytes(StandardCharsets.UTF_8));
      keys.flush();
      assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "kiln shell ends when the remote shell does");
    }
    reader.join(5000);
    assertEquals(7, p.exitValue(), screen.toString());
    assertTrue(screen.toString().contains("33 99"), "the remote terminal has the local one's size: " + screen);
  }
}
