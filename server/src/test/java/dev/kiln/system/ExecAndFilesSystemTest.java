package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Exec and file operations through the real API, against one real microVM. */
@Tag("system")
class ExecAndFilesSystemTest {
  static TestHost host;
  static String id;

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.start();
    id = host.createSandbox(Map.of("template", TestHost.TEMPLATE, "memoryMib", 512, "env", Map.of("SANDBOX_WIDE", "yes")));
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  private static JsonNode exec(Map<String, Object> body) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", body);
    assertEquals(200, r.status(), r.raw());
    return r.json();
  }

  @Test
  void anUploadThatFillsTheGuestDiskFailsAtOnceWith507() throws Exception {
    // /tmp is a tmpfs of half the guest's RAM (256 MiB here): 400 MiB cannot fit.
    long size = 400L << 20;
    java.io.InputStream zeros = new java.io.InputStream() {
      private long left = size;

      @Override
      public int read() {
        return left-- > 0 ? 0 : -1;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (left <= 0) return -1;
        int n = (int) Math.min(len, left);
        java.util.Arrays.fill(b, off, off + n, (byte) 0);
        left -= n;
        return n;
      }
    };
    long start = System.nanoTime();
    try {
      HttpResponse<String> r = host.http.send(HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + id + "/files?path=/tmp/too-big"))
          .header("Authorization", "Bearer " + host.key).timeout(java.time.Duration.ofMinutes(3)).PUT(HttpRequest.BodyPublishers.ofInputStream(() -> zeros)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(507, r.statusCode(), r.body());
      assertTrue(r.body().contains("DISK_FULL"), r.body());
    } catch (java.io.IOException e) {
      // The daemon answers 507 as soon as the guest's disk is full and closes the connection with
      // the rest of the body unread; java.net.http, still sending, may see only the close.
      System.out.println("upload into a full disk: the client saw the connection close (" + e.getMessage() + ")");
    }
    assertTrue(System.nanoTime() - start < java.time.Duration.ofMinutes(2).toNanos(), "the upload fails when the disk fills, not at a timeout");
    assertEquals("ok\n", exec(Map.of("command", "echo ok")).path("stdout").asText(), "the sandbox is fine afterwards");
    // An upload is written beside its file and renamed once whole: the failed one left nothing.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(1)).untilAsserted(() ->
        assertEquals("", exec(Map.of("command", "ls -A /tmp | grep -e too-big -e kiln-upload || true")).path("stdout").asText()));
  }

  @Test
  void anUploadCutOffMidwayLeavesTheOldFileWhole() throws Exception {
    assertEquals(200, host.call("PUT", "/v1/sandboxes/" + id + "/files?path=/tmp/kept.txt", "old content").status());
    java.io.InputStream breaksOff = new java.io.InputStream() {
      private int sent;

      @Override
      public int read() throws java.io.IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0];
      }

      @Override
      public int read(byte[] b, int off, int len) throws java.io.IOException {
        if (sent >= 2 << 20) throw new java.io.IOException("the client's source broke off");
        int n = Math.min(len, (2 << 20) - sent);
        java.util.Arrays.fill(b, off, off + n, (byte) 'x');
        sent += n;
        return n;
      }
    };
    assertThrows(java.io.IOException.class, () -> host.http.send(HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + id + "/files?path=/tmp/kept.txt"))
        .header("Authorization", "Bearer " + host.key).PUT(HttpRequest.BodyPublishers.ofInputStream(() -> breaksOff)).build(), HttpResponse.BodyHandlers.ofString()));
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(1)).untilAsserted(() ->
        assertEquals("old content|", exec(Map.of("command", "cat /tmp/kept.txt; echo '|'; ls -A /tmp | grep kiln-upload || true")).path("stdout").asText().strip()));
  }

  @Test
  void echoPrintsAndExitsZero() throws Exception {
    JsonNode r = exec(Map.of("argv", List.of("echo", "hello", "world")));
    assertEquals("hello world\n", r.path("stdout").asText());
    assertEquals(0, r.path("exitCode").asInt(-1));
    assertFalse(r.path("timedOut").asBoolean());
    assertTrue(r.has("cpuMs") && r.has("peakRssKib") && r.path("peakRssKib").asLong() > 0, r.toString());
  }

  @Test
  void exitCodesAndStderr() throws Exception {
    JsonNode r = exec(Map.of("command", "echo oops >&2; exit 7"));
    assertEquals(7, r.path("exitCode").asInt(-1));
    assertEquals("oops\n", r.path("stderr").asText());
    assertEquals("", r.path("stdout").asText());
  }

  @Test
  void envFromSandboxAndRequestAndCwd() throws Exception {
    JsonNode r = exec(Map.of("command", "echo $SANDBOX_WIDE $MINE; pwd", "env", Map.of("MINE", "mine"), "cwd", "/etc"));
    assertEquals("yes mine\n/etc\n", r.path("stdout").asText());
  }

  @Test
  void userByNameAndUid() throws Exception {
    assertEquals("65534\n", exec(Map.of("argv", List.of("id", "-u"), "user", "nobody")).path("stdout").asText());
    assertEquals("1234:1234\n", exec(Map.of("command", "echo $(id -u):$(id -g)", "user", "1234")).path("stdout").asText());
  }

  @Test
  void tenThousandLines() throws Exception {
    JsonNode r = exec(Map.of("command", "seq 1 10000"));
    String[] lines = r.path("stdout").asText().split("\n");
    assertEquals(10000, lines.length);
    assertEquals("1", lines[0]);
    assertEquals("10000", lines[9999]);
  }

  @Test
  void tenConcurrentExecs() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(10);
    try {
      List<Future<JsonNode>> results = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        int n = i;
        results.add(pool.submit((Callable<JsonNode>) () -> exec(Map.of("command", "sleep 0.5; echo run-" + n))));
      }
      for (int i = 0; i < 10; i++) assertEquals("run-" + i + "\n", results.get(i).get().path("stdout").asText());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void commandTimeoutIsAResult() throws Exception {
    JsonNode r = exec(Map.of("argv", List.of("sleep", "30"), "timeoutSeconds", 1));
    assertTrue(r.path("timedOut").asBoolean(), r.toString());
    assertEquals(-1, r.path("exitCode").asInt(-1));
    assertTrue(r.path("durationMs").asLong() < 10_000, r.toString());
  }

  @Test
  void missingBinaryIsA400() throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("argv", List.of("/no/such/binary")));
    assertEquals(400, r.status());
    assertEquals("COMMAND_NOT_FOUND", r.json().path("error").path("code").asText());
  }

  @Test
  void hundredMibFileRoundTripKeepsItsSha256() throws Exception {
    FileRoundTrip.check(host, id, "/root/big.bin", 100 << 20);
  }

  @Test
  void emptyFileIs200WithEmptyBody() throws Exception {
    HttpRequest put = HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + id + "/files?path=/tmp/empty"))
        .header("Authorization", "Bearer " + host.key).PUT(HttpRequest.BodyPublishers.noBody()).build();
    assertEquals(200, host.http.send(put, HttpResponse.BodyHandlers.ofString()).statusCode());
    HttpResponse<byte[]> r = host.http.send(HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + id + "/files?path=/tmp/empty"))
        .header("Authorization", "Bearer " + host.key).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, r.statusCode());
    assertEquals(0, r.body().length);
  }

  @Test
  void anUploadOntoAPlantedFifoIsRefusedAtOnceAndTheAgentCarriesOn() throws Exception {
    exec(Map.of("command", "mkfifo /tmp/planted"));
    HttpRequest put = HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + id + "/files?path=/tmp/planted"))
        .header("Authorization", "Bearer " + host.key).timeout(java.time.Duration.ofSeconds(60)).PUT(HttpRequest.BodyPublishers.ofString("data"))
        .build();
    HttpResponse<String> r = host.http.send(put, HttpResponse.BodyHandlers.ofString());
    assertEquals(400, r.statusCode(), r.body());
    assertTrue(r.body().contains("a fifo is there, not a regular file"), r.body());
    assertEquals("ok\n", exec(Map.of("command", "echo ok")).path("stdout").asText(), "the guest agent (PID 1) was not left waiting for a reader");
  }

  @Test
  void listStatAndRecursiveDelete() throws Exception {
    exec(Map.of("command", "mkdir -p /tmp/tree/a/b && echo x > /tmp/tree/a/b/f && ln -s /etc /tmp/tree/link"));
    TestHost.Reply list = host.call("GET", "/v1/sandboxes/" + id + "/files/list?path=/tmp/tree", null);
    assertEquals(200, list.status(), list.raw());
    List<String> names = new ArrayList<>();
    list.json().path("entries").forEach(e -> names.add(e.path("name").asText() + ":" + e.path("type").asText()));
    names.sort(null);
    assertEquals(List.of("a:directory", "link:symlink"), names);
    assertEquals(404, host.call("GET", "/v1/sandboxes/" + id + "/files?path=/tmp/nope", null).status());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id + "/files?path=/tmp/tree", null).status());
    assertEquals("gone\n", exec(Map.of("command", "test -e /tmp/tree || echo gone; test -d /etc && true")).path("stdout").asText());
    TestHost.Reply err = host.call("GET", "/v1/sandboxes/" + id + "/files/list?path=/tmp/tree", null);
    assertEquals(404, err.status());
    assertEquals("FILE_NOT_FOUND", err.json().path("error").path("code").asText());
  }

  @Test
  void sandboxesAreListedByStateAndMetadata() throws Exception {
    // The shared sandbox has no metadata; this one is labelled.
    String labelled = host.createSandbox(Map.of("template", TestHost.TEMPLATE, "memoryMib", 256, "metadata", Map.of("team", "ml", "env", "dev")));
    java.util.function.Function<String, List<String>> ids = query -> {
      try {
        List<String> out = new ArrayList<>();
        host.call("GET", "/v1/sandboxes" + query, null).json().path("sandboxes").forEach(s -> out.add(s.path("id").asText()));
        return out;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
    assertEquals(List.of(labelled), ids.apply("?metadata.team=ml"));
    assertEquals(List.of(labelled), ids.apply("?metadata.team=ml&metadata.env=dev&state=running"));
    assertEquals(List.of(), ids.apply("?metadata.team=ml&metadata.env=prod"));
    assertTrue(ids.apply("?state=running").containsAll(List.of(id, labelled)));
    assertEquals(List.of(), ids.apply("?state=paused"));
    assertEquals(400, host.call("GET", "/v1/sandboxes?state=sleeping", null).status());
    host.call("DELETE", "/v1/sandboxes/" + labelled, null);
  }

  @Test
  void mkdirRenameAndAListingOfAThousandFiles() throws Exception {
    assertEquals(204, host.call("POST", "/v1/sandboxes/" + id + "/files/mkdir", Map.of("path", "/root/many/deep/er")).status());
    assertEquals(204, host.call("POST", "/v1/sandboxes/" + id + "/files/mkdir", Map.of("path", "/root/many/deep/er")).status(),
        "like mkdir -p, an existing directory is fine");
    assertEquals(409, host.call("POST", "/v1/sandboxes/" + id + "/files/mkdir", Map.of("path", "/root/many/deep/er", "parents", false)).status());
    assertEquals(400, host.call("POST", "/v1/sandboxes/" + id + "/files/mkdir", Map.of("path", "relative")).status());
    exec(Map.of("command", "cd /root/many && for i in $(seq 1 1000); do echo $i > f$i; done"));
    TestHost.Reply list = host.call("GET", "/v1/sandboxes/" + id + "/files/list?path=/root/many", null);
    assertEquals(1001, list.json().path("entries").size(), "1,000 files and the directory deep");
    JsonNode f500 = null;
    for (JsonNode e : list.json().path("entries")) if (e.path("name").asText().equals("f500")) f500 = e;
    assertEquals("file", f500.path("type").asText());
    assertEquals(4, f500.path("size").asLong());
    assertEquals("0644", f500.path("mode").asText());
    assertTrue(f500.path("mtime").asText().startsWith("20"), f500.toString());

    assertEquals(204, host.call("POST", "/v1/sandboxes/" + id + "/files/rename", Map.of("from", "/root/many/f1", "to", "/root/many/deep/moved")).status());
    assertEquals("1\n", exec(Map.of("command", "cat /root/many/deep/moved; test -e /root/many/f1 && echo still-there")).path("stdout").asText());
    assertEquals(404, host.call("POST", "/v1/sandboxes/" + id + "/files/rename", Map.of("from", "/root/many/nope", "to", "/root/x")).status());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id + "/files?path=/root/many", null).status());
  }
}
