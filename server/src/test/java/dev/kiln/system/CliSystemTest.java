package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.host.AtomicFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The `kiln` CLI as a user runs it: its own process, talking to a real daemon through KILN_URL and KILN_API_KEY. */
@Tag("system")
class CliSystemTest extends OneSandboxTest {
  record Run(int exit, String out) {}

  private static Run kiln(String... args) throws Exception {
    CliProcess.Run r = CliProcess.against(host, null, args);
    return new Run(r.exit(), r.out() + r.err());
  }

  @Test
  void execStreamsStdoutAndStderrApartPassesStdinAndExitsWithTheCommandsCode() throws Exception {
    CliProcess.Run r = CliProcess.against(host, null, "exec", sandbox, "--", "sh", "-c", "echo out; echo err >&2; exit 3");
    assertEquals(3, r.exit(), r.toString());
    assertEquals("out\n", r.out());
    assertEquals("err\n", r.err());
    CliProcess.Run piped = CliProcess.against(host, "hello from stdin\n", "exec", "-i", sandbox, "--", "tr", "a-z", "A-Z");
    assertEquals(0, piped.exit(), piped.toString());
    assertEquals("HELLO FROM STDIN\n", piped.out());
    CliProcess.Run noStdin = CliProcess.against(host, "ignored\n", "exec", sandbox, "--", "cat");
    assertEquals("", noStdin.out(), "without -i the command's stdin is empty, as with docker exec");
    CliProcess.Run timedOut = CliProcess.against(host, null, "exec", "--timeout", "1", sandbox, "--", "sleep", "30");
    assertEquals(124, timedOut.exit(), timedOut.toString());
    CliProcess.Run killed = CliProcess.against(host, null, "exec", sandbox, "--", "sh", "-c", "kill -9 $$");
    assertEquals(137, killed.exit(), killed.toString());
    CliProcess.Run cwd = CliProcess.against(host, null, "exec", "-w", "/tmp", "-e", "X=1", sandbox, "--", "sh", "-c", "pwd; echo $X");
    assertEquals("/tmp\n1\n", cwd.out(), cwd.toString());
  }

  @Test
  void execOfAMissingOrNonExecutableCommandExitsLikeAShell() throws Exception {
    CliProcess.Run missing = CliProcess.against(host, null, "exec", sandbox, "--", "no-such-command");
    assertEquals(127, missing.exit(), missing.toString());
    assertTrue(missing.err().contains("no-such-command"), missing.err());
    CliProcess.Run notExecutable = CliProcess.against(host, null, "exec", sandbox, "--", "/etc/passwd");
    assertEquals(126, notExecutable.exit(), notExecutable.toString());
  }

  @Test
  void execDetachedPrintsThePidOfARunningProcess() throws Exception {
    CliProcess.Run d = CliProcess.against(host, null, "exec", "-d", sandbox, "--", "sleep", "30");
    assertEquals(0, d.exit(), d.toString());
    long pid = Long.parseLong(d.out().strip());
    assertEquals("running", host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/" + pid, null).json().path("status").asText());
    host.call("POST", "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/signal", Map.of("signal", "KILL"));
  }

  @Test
  void cpCopiesDirectoriesBothWaysWithModes() throws Exception {
    Path local = Files.createTempDirectory("kiln-cp");
    try {
      Path src = local.resolve("proj");
      Files.createDirectories(src.resolve("sub/deeper"));
      Files.writeString(src.resolve("README"), "hello\n");
      Files.write(src.resolve("sub/deeper/data.bin"), new byte[300_000]);
      Path script = src.resolve("sub/run.sh");
      Files.writeString(script, "#!/bin/sh\necho ran\n");
      Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-x---"));

      Run up = kiln("cp", src.toString(), sandbox + ":/root");
      assertEquals(0, up.exit(), up.out());
      assertTrue(up.out().contains("copied 3 file(s)"), up.out());
      TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + sandbox + "/exec",
          Map.of("command", "cat /root/proj/README; /root/proj/sub/run.sh; stat -c %a /root/proj/sub/run.sh; wc -c < /root/proj/sub/deeper/data.bin"));
      assertEquals("hello\nran\n750\n300000\n", r.json().path("stdout").asText(), "into an existing directory, under its own name, modes kept");

      Path back = local.resolve("back");
      Run down = kiln("cp", sandbox + ":/root/proj", back.toString());
      assertEquals(0, down.exit(), down.out());
      assertEquals("hello\n", Files.readString(back.resolve("README")));
      assertEquals(300_000, Files.size(back.resolve("sub/deeper/data.bin")));
      assertEquals("rwxr-x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(back.resolve("sub/run.sh"))));

      Run bad = kiln("cp", src.toString(), back.toString());
      assertEquals(2, bad.exit(), "two local paths is a usage error: " + bad.out());
      Run missing = kiln("cp", sandbox + ":/no/such/thing", back.toString());
      assertFalse(missing.exit() == 0, missing.out());
    } finally {
      AtomicFiles.deleteTree(local);
    }
  }

  @Test
  void logsShowEventsAndTheGuestConsoleWithoutControlCharacters() throws Exception {
    Run events = kiln("sandbox", "logs", sandbox);
    assertEquals(0, events.exit(), events.out());
    assertTrue(events.out().contains("created"), events.out());
    // The guest writes an escape sequence to its console; the operator's terminal must not get it.
    host.call("POST", "/v1/sandboxes/" + sandbox + "/exec", Map.of("command", "printf 'kiln-console-mark \\033[2J\\n' > /dev/console"));
    Run console = kiln("sandbox", "logs", sandbox, "--console");
    assertEquals(0, console.exit(), console.out());
    assertTrue(console.out().contains("kiln-console-mark ?[2J\n"), console.out());
    assertFalse(console.out().contains("?\n"), "a console's CR LF is a line end, not a '?': " + console.out());
    assertFalse(console.out().contains("\u001b"));
  }
}
