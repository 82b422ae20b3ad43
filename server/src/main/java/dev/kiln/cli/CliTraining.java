package dev.kiln.cli;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The training run of the CLI's ahead-of-time cache (JEP 483; the {@code kiln} launcher and
 * scripts/install.sh run it under {@code -XX:AOTCacheOutput}): the commands users type most, run
 * in this JVM against a stub of the API on a loopback port, so that what they load and link
 * (picocli's model of every command, java.net.http, Jackson, the table printer, the error path) is
 * in the cache. It needs no daemon and no network beyond loopback.
 *
 * <p>Whatever the training loads, every later CLI start loads too, so the stub is a plain
 * {@link ServerSocket} (classes the client loads anyway) and nothing of the daemon is touched. The
 * exit codes of the commands do not matter; a command that changed its syntax only trains less.
 */
final class CliTraining {
  static final List<List<String>> COMMANDS = List.of(
      List.of("--help"),
      List.of("template", "list"),
      List.of("template", "list", "-o", "json"),
      List.of("sandbox", "list"),
      List.of("sandbox", "get", "sb-training"),
      List.of("template", "list", "--help"));

  private static final String TEMPLATES = """
      {"templates":[{"name":"base","status":"ready","source":"dir:/srv/rootfs","sizeBytes":1073741824,"updatedAt":"2026-01-01T00:00:00Z"}]}""";
  private static final String SANDBOXES = """
      {"sandboxes":[{"id":"sb-training","status":"running","template":"base","vcpus":1,"memoryMib":512,"expiresAt":"2026-01-01T00:05:00Z"}]}""";
  private static final String NOT_FOUND = """
      {"error":{"code":"SANDBOX_NOT_FOUND","message":"no sandbox sb-training on this host"}}""";

  private CliTraining() {}

  public static void main(String[] args) throws IOException {
    PrintStream out = System.out;
    int failed = 0;
    try (ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress())) {
      Thread stub = new Thread(() -> serve(server), "kiln-training-stub");
      stub.setDaemon(true);
      stub.start();
      Api.defaultUrl = "http://127.0.0.1:" + server.getLocalPort();
      System.setIn(new ByteArrayInputStream(new byte[0]));
      PrintStream sink = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
      System.setOut(sink);
      System.setErr(sink);
      for (List<String> command : COMMANDS) {
        if (KilnCli.run(command.toArray(String[]::new)) != expectedExit(command)) failed++;
      }
    } finally {
      System.setOut(out);
    }
    out.println("kiln: CLI training ran " + COMMANDS.size() + " commands (" + failed + " not as expected)");
  }

  private static int expectedExit(List<String> command) {
    return command.contains("get") ? KilnCli.EXIT_API_ERROR : 0;
  }

  /** One request per connection: GETs of the two lists answer rows, anything else a 404 in the API's error shape. */
  private static void serve(ServerSocket server) {
    while (!server.isClosed()) {
      try (Socket s = server.accept()) {
        String head = readHead(s.getInputStream());
        String path = head.isEmpty() ? "" : head.split(" ", 3)[1];
        String body = head.startsWith("GET ") && path.equals("/v1/templates") ? TEMPLATES
            : head.startsWith("GET ") && path.equals("/v1/sandboxes") ? SANDBOXES : NOT_FOUND;
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String status = body == NOT_FOUND ? "404 Not Found" : "200 OK";
        s.getOutputStream().write(("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length
            + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().write(b);
      } catch (IOException e) {
        // the server was closed, or a client went away: nothing to answer
      }
    }
  }

  /** The request line and headers, up to the blank line (the training's requests have no body). */
  private static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0 && head.length() < 65536) {
      head.append((char) c);
      if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) break;
    }
    return head.toString();
  }
}
