package dev.kiln.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.sdk.Kiln;
import java.util.Set;

/**
 * Initializes the API client's classes (the SDK's, Jackson's, java.net.http's) on a second thread while the
 * first one has picocli model and parse the command line: two jobs of similar length that do not
 * depend on each other, so on a host with a free core the client is ready when the command asks
 * for it (docs/adr/0008-cli-start-time.md). Class initialization is once per JVM and the JVM
 * makes a thread that needs a class wait for one initializing it, so the command's own objects are
 * made as before, only faster; the throwaway client is shut down at once.
 */
final class ClientWarmup {
  /** First arguments of command lines that make no API call. */
  private static final Set<String> NO_CLIENT = Set.of("daemon", "bench", "completion", "help", "-h", "--help", "-V", "--version");

  private ClientWarmup() {}

  static void startFor(String... args) {
    if (args.length == 0 || NO_CLIENT.contains(args[0])) return;
    Thread t = new Thread(ClientWarmup::run, "kiln-client-warmup");
    t.setDaemon(true);
    t.start();
  }

  private static void run() {
    try {
      new ObjectMapper().readTree("{\"a\":[1,2.5,\"x\",null,true,{}]}");
      new Kiln(Kiln.DEFAULT_URL, "").close();
      Class.forName(Api.class.getName(), true, ClientWarmup.class.getClassLoader());
    } catch (Throwable e) {
      // Only a head start: the command makes (and reports on) its own client.
    }
  }
}
