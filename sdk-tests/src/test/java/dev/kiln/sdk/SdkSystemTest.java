package dev.kiln.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.sdk.examples.Quickstart;
import dev.kiln.sdk.examples.StreamingAndStdin;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The SDK against a real daemon and real microVMs; the examples run here too, so they cannot rot. */
@Tag("system")
class SdkSystemTest {
  private static LocalDaemon daemon;
  private static Sandbox shared;

  @BeforeAll
  static void up() throws Exception {
    daemon = new LocalDaemon();
    shared = Sandbox.create(daemon.kiln, CreateOptions.builder(LocalDaemon.TEMPLATE).memoryMib(256).ttl(Duration.ofHours(1))
        .onTimeout(CreateOptions.OnTimeout.PAUSE).env("GREETING", "typed").metadata("suite", "sdk").build());
  }

  @AfterAll
  static void down() throws Exception {
    if (shared != null) shared.close();
    if (daemon != null) daemon.close();
  }

  @Test
  void typedCreateOptionsReachTheSandbox() throws Exception {
    assertEquals("typed\n", shared.commands().run("echo $GREETING").stdout(), "env from the create options");
    com.fasterxml.jackson.databind.JsonNode info = new com.fasterxml.jackson.databind.ObjectMapper().readTree(daemon.kiln.api().get("/v1/sandboxes/" + shared.id()));
    assertEquals(256, info.path("memoryMib").asInt(), info.toString());
    assertEquals(3600, info.path("timeoutSeconds").asInt(), info.toString());
    assertEquals("pause", info.path("onTimeout").asText(), info.toString());
    assertEquals("sdk", info.path("metadata").path("suite").asText(), info.toString());
    KilnException tooSmall = assertThrows(KilnException.class,
        () -> Sandbox.create(daemon.kiln, CreateOptions.builder(LocalDaemon.TEMPLATE).memoryMib(64).build()));
    assertEquals("INVALID_REQUEST", tooSmall.code());
    assertTrue(tooSmall.detail().contains("memoryMib"), tooSmall.detail());
  }

  @Test
  void quickstartExample() {
    assertEquals("HELLO FROM THE HOST\n", Quickstart.run(daemon.kiln, LocalDaemon.TEMPLATE));
  }

  @Test
  void outputStreamsWhileTheCommandRuns() throws Exception {
    List<Long> arrivals = new ArrayList<>();
    StringBuilder seen = new StringBuilder();
    long start = System.nanoTime();
    CommandResult r;
    try (CommandHandle h = shared.commands().start("for i in 1 2 3 4; do echo line$i; sleep 0.3; done", out -> {
      synchronized (arrivals) {
        arrivals.add(System.nanoTime() - start);
        seen.append(out);
      }
    }, err -> { })) {
      r = h.await(Duration.ofMinutes(1));
    }
    long end = System.nanoTime() - start;
    assertEquals(0, r.exitCode());
    assertEquals("line1\nline2\nline3\nline4\n", r.stdout());
    assertEquals(r.stdout(), seen.toString(), "the callbacks saw every byte, in order");
    assertTrue(end - arrivals.getFirst() > 700_000_000L, "the first line came well before the end: " + arrivals);
    StringBuilder countdown = new StringBuilder();
    assertEquals(0, StreamingAndStdin.countdown(shared, countdown).exitCode());
    assertEquals("3\n2\n1\nliftoff\n", countdown.toString());
  }

  @Test
  void stdinReachesTheCommand() throws Exception {
    assertEquals("SHOUT\n", StreamingAndStdin.upperCase(shared, "shout\n"));
  }

  @Test
  void ctrlCEndsTheCommand() throws Exception {
    try (CommandHandle h = shared.commands().start(List.of("sleep", "1000"), Map.of(), b -> { }, b -> { })) {
      h.signal("INT");
      CommandResult r = h.await(Duration.ofMinutes(1));
      assertEquals(2, r.signal(), "SIGINT ended it: " + r);
    }
  }

  @Test
  void aCommandStartsOnItsSocketOrByPostWhenItsRequestIsLongAndAFailedStartSaysWhy() throws Exception {
    // Short: started over the WebSocket's handshake. Long (an environment past what a URL carries): POST, then the socket.
    for (String value : List.of("short", "x".repeat(8000))) {
      try (CommandHandle h = shared.commands().start(List.of("sh", "-c", "echo ${#BIG}"), Map.of("BIG", value), b -> { }, b -> { })) {
        assertTrue(h.pid() > 0);
        CommandResult r = h.await(Duration.ofMinutes(1));
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(value.length() + "\n", r.stdout());
      }
    }
    KilnException missing = assertThrows(KilnException.class, () -> shared.commands().start(List.of("/no/such"), Map.of(), b -> { }, b -> { }));
    assertEquals("COMMAND_NOT_FOUND", missing.code(), missing.getMessage());
    assertEquals(400, missing.status(), missing.getMessage());
  }

  @Test
  void aPtyShellSeesItsResize() throws Exception {
    StringBuilder screen = new StringBuilder();
    try (CommandHandle term = shared.pty(24, 80, b -> {
      synchronized (screen) {
        screen.append(new String(b, StandardCharsets.UTF_8));
      }
    })) {
      term.resize(40, 120);
      term.sendStdin("stty size\n");
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!screen.toString().contains("40 120") && System.nanoTime() < deadline) Thread.sleep(50);
      assertTrue(screen.toString().contains("40 120\r\n"), screen.toString());
      term.sendStdin("exit 3\n");
      assertEquals(3, term.await(Duration.ofMinutes(1)).exitCode());
    }
  }

  @Test
  void reattachingReplaysWhatTheDroppedConnectionMissed() throws Exception {
    StringBuilder first = new StringBuilder();
    CommandHandle h = shared.commands().start("for i in 1 2 3 4 5 6; do echo line$i; sleep 0.3; done", out -> {
      synchronized (first) {
        first.append(out);
      }
    }, err -> { });
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      synchronized (first) {
        if (first.toString().contains("line2")) break;
      }
      assertTrue(System.nanoTime() < deadline, "line2 within 30 s");
      Thread.sleep(20);
    }
    h.close(); // the connection drops; the command runs on
    long cursor = h.cursor();
    Thread.sleep(600); // output made while no one is attached is kept for the next client
    StringBuilder rest = new StringBuilder();
    CommandResult r;
    try (CommandHandle again = shared.commands().connect(h.pid(), cursor, b -> rest.append(new String(b, StandardCharsets.UTF_8)), err -> { })) {
      r = again.await(Duration.ofMinutes(1));
    }
    String seenFirst;
    synchronized (first) {
      seenFirst = first.toString().substring(0, (int) cursor);
    }
    assertEquals("line1\nline2\nline3\nline4\nline5\nline6\n", seenFirst + rest, "nothing missed, nothing twice");
    try (CommandHandle all = shared.commands().connect(h.pid(), 0, b -> { }, b -> { })) {
      assertEquals("line1\nline2\nline3\nline4\nline5\nline6\n", all.await(Duration.ofSeconds(30)).stdout(), "from 0: everything kept");
    }
    assertEquals(0, r.exitCode());
  }

  @Test
  void aGigabyteGoesUpAndDownWithTheSameDigestThroughABoundedHeap() throws Exception {
    // This JVM runs with -Xmx512m and hosts the daemon too: a buffered gigabyte would not fit.
    long size = 1L << 30;
    try (Sandbox big = Sandbox.create(daemon.kiln, CreateOptions.builder(LocalDaemon.TEMPLATE).memoryMib(256).diskMib(1400).build())) {
      java.security.MessageDigest up = java.security.MessageDigest.getInstance("SHA-256");
      big.files().write("/root/giga", new java.security.DigestInputStream(new PatternStream(size), up), 0644);
      String sent = java.util.HexFormat.of().formatHex(up.digest());
      java.security.MessageDigest down = java.security.MessageDigest.getInstance("SHA-256");
      try (java.io.InputStream in = new java.security.DigestInputStream(big.files().open("/root/giga"), down)) {
        in.transferTo(java.io.OutputStream.nullOutputStream());
      }
      assertEquals(sent, java.util.HexFormat.of().formatHex(down.digest()));
      assertTrue(big.commands().run("sha256sum /root/giga").stdout().startsWith(sent), "the guest has the same bytes");
    }
  }

  /** {@code size} bytes of a cheap pattern, made as they are read. */
  private static final class PatternStream extends java.io.InputStream {
    private final long size;
    private long pos;

    PatternStream(long size) {
      this.size = size;
    }

    @Override
    public int read() {
      return pos < size ? (int) ((pos++ * 2654435761L) >>> 13) & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (pos >= size) return -1;
      int n = (int) Math.min(len, size - pos);
      for (int i = 0; i < n; i++) b[off + i] = (byte) (((pos + i) * 2654435761L) >>> 13);
      pos += n;
      return n;
    }
  }

  @Test
  void aThousandFilesAreListed() {
    shared.commands().run("mkdir -p /tmp/many && cd /tmp/many && i=0; while [ $i -lt 1000 ]; do : > f$i; i=$((i+1)); done");
    List<FileInfo> entries = shared.files().list("/tmp/many");
    assertEquals(1000, entries.size());
    assertTrue(entries.stream().anyMatch(f -> f.name().equals("f999")));
    shared.files().remove("/tmp/many");
  }

  @Test
  void files() {
    SandboxFiles fs = shared.files();
    fs.mkdir("/root/sdk/dir");
    fs.write("/root/sdk/a.txt", "alpha");
    fs.rename("/root/sdk/a.txt", "/root/sdk/dir/b.txt");
    assertEquals("alpha", fs.readText("/root/sdk/dir/b.txt"));
    assertFalse(fs.exists("/root/sdk/a.txt"));
    FileInfo b = fs.list("/root/sdk/dir").getFirst();
    assertEquals("b.txt", b.name());
    assertEquals(5, b.size());
    assertTrue(fs.stat("/root/sdk").isDirectory());
    fs.write("/root/sdk/empty", new byte[0]);
    assertEquals(0, fs.read("/root/sdk/empty").length, "an empty file reads as empty, not as an error");
    fs.remove("/root/sdk");
    assertFalse(fs.exists("/root/sdk"));
    KilnException e = assertThrows(KilnException.class, () -> fs.read("/root/nothing"));
    assertEquals("FILE_NOT_FOUND", e.code());
    assertEquals(404, e.status());
  }

  @Test
  void closingDeletesAndIllegalTransitionsAre409() {
    String id;
    try (Sandbox sb = Sandbox.create(daemon.kiln, CreateOptions.builder(LocalDaemon.TEMPLATE).memoryMib(256).build())) {
      id = sb.id();
      sb.pause();
      assertEquals("paused", sb.status());
      KilnException twice = assertThrows(KilnException.class, sb::pause);
      assertEquals(409, twice.status());
      assertEquals("ILLEGAL_TRANSITION", twice.code());
      assertEquals("awake\n", sb.commands().run("echo awake").stdout(), "a command resumes a paused sandbox");
    }
    KilnException gone = assertThrows(KilnException.class, () -> Sandbox.connect(daemon.kiln, id));
    assertEquals("SANDBOX_DELETED", gone.code());
  }
}
