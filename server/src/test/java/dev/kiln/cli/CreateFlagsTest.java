package dev.kiln.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.sdk.CreateOptions;
import dev.kiln.sdk.NetworkOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code sandbox create} and {@code run} turn their flags into the SDK's typed create options. */
class CreateFlagsTest {
  private static CreateOptions parsed(String... args) {
    SandboxCommand.Create create = new SandboxCommand.Create();
    new CommandLine(create).parseArgs(args);
    return create.opts.options(create.template);
  }

  @Test
  void everyFlagBecomesItsOption() {
    CreateOptions o = parsed("--template", "py", "--ttl", "600", "--on-timeout", "pause", "--vcpus", "2", "--memory-mib", "1024", "--disk-mib", "4096",
        "-e", "A=1", "--metadata", "team=ml", "--network", "internet", "--allow-out", "example.com,10.0.0.0/8", "--deny-out", "evil.example.com",
        "--group", "app", "--public", "--egress-mbit", "50", "--ingress-mbit", "100", "--machine", "q35", "--node", "node-2", "--node-label", "zone=eu-1");
    assertEquals(new CreateOptions("py", Duration.ofSeconds(600), CreateOptions.OnTimeout.PAUSE, 2, 1024, 4096, Map.of("A", "1"), Map.of("team", "ml"),
        new NetworkOptions(NetworkOptions.Mode.INTERNET, List.of("example.com", "10.0.0.0/8"), List.of("evil.example.com"), "app", true, 50, 100),
        CreateOptions.Machine.Q35, "node-2", Map.of("zone", "eu-1")), o);
  }

  @Test
  void noFlagsLeaveEverythingToTheDaemon() {
    assertEquals(CreateOptions.of("base"), parsed());
    assertNull(parsed("--ttl", "60").network(), "no network flag: no network object, so the daemon's default mode");
    assertEquals(new NetworkOptions(null, List.of("example.com"), List.of(), null, null, null, null), parsed("--allow-out", "example.com").network());
  }

  @Test
  void anUnknownChoiceIsAUsageErrorNamingTheFlag() {
    UserError e = assertThrows(UserError.class, () -> parsed("--on-timeout", "stop"));
    assertEquals("--on-timeout must be one of delete|pause, got 'stop'", e.getMessage());
    assertEquals(KilnCli.EXIT_USAGE, e.exitCode());
    assertEquals("--network must be one of none|internet, got 'Internet'", assertThrows(UserError.class, () -> parsed("--network", "Internet")).getMessage());
  }
}
