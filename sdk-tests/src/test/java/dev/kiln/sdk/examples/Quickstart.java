package dev.kiln.sdk.examples;

import dev.kiln.sdk.CommandResult;
import dev.kiln.sdk.Kiln;
import dev.kiln.sdk.Sandbox;

/** The README's example: a sandbox, a file in it, a command on the file; the sandbox is gone after. */
public final class Quickstart {
  private Quickstart() {}

  public static String run(Kiln kiln, String template) {
    try (Sandbox sandbox = Sandbox.create(kiln, template)) {
      sandbox.files().write("/root/greeting.txt", "hello from the host\n");
      CommandResult r = sandbox.commands().run("tr a-z A-Z < /root/greeting.txt");
      return r.stdout();
    }
  }

  public static void main(String[] args) {
    System.out.print(run(Kiln.fromEnvironment(), args.length > 0 ? args[0] : "base"));
  }
}
