package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * An interactive terminal in a sandbox, like ssh: the local terminal in raw mode, a pty process in
 * the guest behind a WebSocket, window size changes passed on, and the remote exit code as ours.
 */
@Command(name = "shell", description = "Open an interactive terminal in a sandbox (like ssh); exits with the shell's exit code.")
final class ShellCommand implements Callable<Integer> {
  private static final Path TTY = Path.of("/dev/tty");
  private static final ObjectMapper JSON = new ObjectMapper();

  @Parameters(index = "0", description = "sandbox id") String id;
  @Parameters(index = "1..*", arity = "0..*", description = "command to run instead of /bin/sh") List<String> command = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    if (!Files.isReadable(TTY) || System.console() == null) {
      System.err.println("kiln shell: needs a terminal (use `kiln exec` from scripts)");
      return 2;
    }
    ApiClient api = ApiClient.fromEnvironment();
    int[] size = terminalSize();
    JsonNode p = api.post("/v1/sandboxes/" + id + "/processes", Map.of("argv", command.isEmpty() ? List.of("/bin/sh") : command,
        "pty", Map.of("rows", size[0], "cols", size[1]), "env", Map.of("TERM", System.getenv().getOrDefault("TERM", "xterm"))));
    long pid = p.path("pid").asLong();
    Remote remote = new Remote(System.out);
    String saved = stty("-g").strip();
    stty("raw", "-echo");
    try {
      WebSocket ws = api.webSocket("/v1/sandboxes/" + id + "/processes/" + pid + "/ws", remote);
      onWindowChange(() -> {
        int[] s = terminalSize();
        ws.sendBinary(ByteBuffer.wrap(new byte[] {7, (byte) (s[0] >> 8), (byte) s[0], (byte) (s[1] >> 8), (byte) s[1]}), true);
      });
      Thread keys = Thread.ofVirtual().start(() -> forwardKeys(System.in, ws));
      int code = remote.exitCode.get();
      keys.interrupt();
      return code;
    } finally {
      stty(saved);
    }
  }

  /** Local keystrokes to the remote terminal as they come (raw mode: no line buffering, no echo). */
  private static void forwardKeys(InputStream in, WebSocket ws) {
    byte[] buf = new byte[4096];
    try {
      for (int n; (n = in.read(buf)) > 0; ) {
        ByteBuffer m = ByteBuffer.allocate(n + 1).put((byte) 0).put(buf, 0, n).flip();
        ws.sendBinary(m, true).join();
      }
    } catch (IOException | java.util.concurrent.CompletionException e) {
      // the session ended
    }
  }

  /** Output to our terminal, and the exit code once the remote process ends (128+N for signal N, as a shell reports it). */
  private static final class Remote implements WebSocket.Listener {
    final CompletableFuture<Integer> exitCode = new CompletableFuture<>();
    private final PrintStream out;
    private final java.io.ByteArrayOutputStream partial = new java.io.ByteArrayOutputStream();

    Remote(PrintStream out) {
      this.out = out;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
      byte[] b = new byte[data.remaining()];
      data.get(b);
      partial.writeBytes(b);
      if (last) {
        byte[] m = partial.toByteArray();
        partial.reset();
        if (m.length > 0 && (m[0] == 1 || m[0] == 2)) {
          out.write(m, 1, m.length - 1);
          out.flush();
        } else if (m.length > 0 && m[0] == 3) {
          try {
            JsonNode e = JSON.readTree(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
            exitCode.complete(e.has("signal") ? 128 + e.path("signal").asInt() : e.path("exitCode").asInt(1));
          } catch (IOException ex) {
            exitCode.complete(1);
          }
        }
      }
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
      exitCode.complete(1); // no-op after an exit message; otherwise the connection was lost
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      exitCode.complete(1);
    }
  }

  /** Runs stty on the controlling terminal; returns what it printed. */
  private static String stty(String... args) throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>(List.of("stty"));
    argv.addAll(List.of(args));
    Process p = new ProcessBuilder(argv).redirectInput(TTY.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) throw new IOException("stty " + String.join(" ", args) + " failed");
    return out;
  }

  private static int[] terminalSize() {
    try {
      String[] rc = stty("size").strip().split("\\s+");
      return new int[] {Math.max(1, Integer.parseInt(rc[0])), Math.max(1, Integer.parseInt(rc[1]))};
    } catch (IOException | InterruptedException | RuntimeException e) {
      return new int[] {24, 80};
    }
  }

  /** SIGWINCH: the JDK has no public API for it; sun.misc.Signal (jdk.unsupported) is the one way. */
  @SuppressWarnings("removal")
  private static void onWindowChange(Runnable r) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("WINCH"), sig -> r.run());
    } catch (IllegalArgumentException e) {
      // no SIGWINCH on this platform: the size stays as it was at the start
    }
  }
}
