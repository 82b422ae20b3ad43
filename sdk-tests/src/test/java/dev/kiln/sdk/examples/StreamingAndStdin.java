package dev.kiln.sdk.examples;

import dev.kiln.sdk.CommandHandle;
import dev.kiln.sdk.CommandResult;
import dev.kiln.sdk.Sandbox;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/** A long-running command followed as it prints, and a command fed on stdin. */
public final class StreamingAndStdin {
  private StreamingAndStdin() {}

  public static CommandResult countdown(Sandbox sandbox, StringBuilder seen) throws TimeoutException, InterruptedException {
    try (CommandHandle h = sandbox.commands().start("for i in 3 2 1; do echo $i; sleep 0.3; done; echo liftoff",
        out -> seen.append(out), err -> { })) {
      return h.await(Duration.ofMinutes(1));
    }
  }

  public static String upperCase(Sandbox sandbox, String text) throws TimeoutException, InterruptedException {
    try (CommandHandle h = sandbox.commands().start("tr a-z A-Z", out -> { }, err -> { })) {
      h.sendStdin(text);
      h.closeStdin();
      return h.await(Duration.ofMinutes(1)).stdout();
    }
  }
}
