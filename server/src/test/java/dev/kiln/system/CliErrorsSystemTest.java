package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The CLI fed what users get wrong: each answer names what was wrong in the user's terms (the flag,
 * the value, the file, the URL) with the documented exit code, and never a Java class name.
 */
@Tag("system")
class CliErrorsSystemTest extends OneSandboxTest {
  static final Pattern JAVA_NAME = Pattern.compile("\\b(java|javax|jdk|sun|dev\\.kiln|com\\.fasterxml|org\\.eclipse|picocli)\\.[a-z]|\\b[A-Z]\\w*(Exception|Error)\\b|\\bat [a-z]+\\.");

  private static CliProcess.Run kiln(String... args) throws Exception {
    return checked(CliProcess.against(host, null, args));
  }

  private static CliProcess.Run checked(CliProcess.Run r) {
    assertFalse(JAVA_NAME.matcher(r.all()).find(), "a Java name reached the user: " + r.all());
    return r;
  }

  @Test
  void aKilnUrlWithoutSchemeIsAUsageErrorThatShowsTheForm() throws Exception {
    CliProcess.Run r = checked(CliProcess.run(Map.of("KILN_URL", "127.0.0.1:7788"), null, "template", "list"));
    assertEquals(2, r.exit(), r.all());
    assertTrue(r.err().contains("http://"), r.err());
  }

  @Test
  void unreachableAndWrongProtocolDaemonsExit69WithTheReason() throws Exception {
    CliProcess.Run refused = checked(CliProcess.run(Map.of("KILN_URL", "http://127.0.0.1:1"), null, "sandbox", "list"));
    assertEquals(69, refused.exit(), refused.all());
    assertTrue(refused.err().contains("connection refused"), refused.err());
    CliProcess.Run tls = checked(CliProcess.run(Map.of("KILN_URL", host.base.replace("http://", "https://"), "KILN_API_KEY", host.key), null,
        "sandbox", "list"));
    assertEquals(69, tls.exit(), tls.all());
    assertTrue(tls.err().contains("TLS"), tls.err());
  }

  @Test
  void missingLocalFilesAreNamed() throws Exception {
    CliProcess.Run put = kiln("files", "put", sandbox, "/tmp/no-such-local-file", "/root/x");
    assertEquals(1, put.exit(), put.all());
    assertTrue(put.err().contains("no such local file: /tmp/no-such-local-file"), put.err());
    CliProcess.Run cp = kiln("cp", "/tmp/no-such-local-dir", sandbox + ":/root");
    assertEquals(1, cp.exit(), cp.all());
    assertTrue(cp.err().contains("/tmp/no-such-local-dir"), cp.err());
    host.call("POST", "/v1/sandboxes/" + sandbox + "/exec", Map.of("command", "echo x > /root/present"));
    CliProcess.Run get = kiln("files", "get", sandbox, "/root/present", "/tmp/no-such-dir-kiln/out");
    assertEquals(1, get.exit(), get.all());
    assertTrue(get.err().contains("no such file or directory: /tmp/no-such-dir-kiln/out"), get.err());
  }

  @Test
  void outOfRangeOptionsNameTheFlagAndTheRange() throws Exception {
    for (String[] bad : new String[][] {{"--memory-mib", "64"}, {"--vcpus", "0"}, {"--ttl", "-5"}}) {
      CliProcess.Run r = kiln("sandbox", "create", "--template", TestHost.TEMPLATE, bad[0], bad[1]);
      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().contains(bad[0]), "names the flag " + bad[0] + ": " + r.err());
      assertTrue(r.err().contains("INVALID_REQUEST"), r.err());
      assertFalse(r.err().matches("(?s).*(?<!-)\\b(memoryMib|vcpus|timeoutSeconds)\\b.*"), "no API field names: " + r.err());
      assertFalse(r.err().contains("---"), r.err());
    }
  }

  @Test
  void unknownIdsAndBadUsageGetTheirExitCodes() throws Exception {
    CliProcess.Run missing = kiln("sandbox", "get", "sb-doesnotexist0000");
    assertEquals(1, missing.exit(), missing.all());
    assertTrue(missing.err().contains("SANDBOX_NOT_FOUND"), missing.err());
    assertEquals(2, kiln("sandbox", "create", "-o", "xml").exit());
    assertEquals(2, kiln("exec", sandbox, "--timeout", "soon", "--", "true").exit());
    assertEquals(2, kiln().exit(), "kiln alone prints its usage");
    CliProcess.Run noCommand = kiln("exec", sandbox);
    assertEquals(2, noCommand.exit(), noCommand.all());
    assertTrue(noCommand.err().contains("COMMAND"), noCommand.err());
  }

  @Test
  void aCheckpointOfAPausedSandboxIsRefusedInWords() throws Exception {
    String paused = host.createSandbox();
    try {
      assertEquals(0, kiln("sandbox", "pause", paused).exit());
      CliProcess.Run r = kiln("checkpoint", "create", paused, "cp1");
      assertEquals(1, r.exit(), r.all());
      assertTrue(r.err().contains("paused"), r.err());
      assertEquals(0, kiln("sandbox", "resume", paused).exit());
      CliProcess.Run cp = kiln("checkpoint", "create", paused, "cp1", "-o", "json");
      assertEquals(0, cp.exit(), cp.all());
      assertTrue(cp.out().contains("\"name\" : \"cp1\""), cp.out());
    } finally {
      host.call("DELETE", "/v1/sandboxes/" + paused, null);
    }
  }

  @Test
  void aDaemonConfigTypoNamesTheKey() throws Exception {
    Path config = Files.createTempFile("kiln-config", ".json");
    try {
      Files.writeString(config, "{\"listn\": \"127.0.0.1:7999\"}");
      CliProcess.Run r = checked(CliProcess.run(Map.of(), null, "daemon", "--config", config.toString(), "--data-dir", "/tmp/kiln-never-used"));
      assertEquals(2, r.exit(), r.all());
      assertTrue(r.err().contains("listn"), r.err());
      Files.writeString(config, "{\"bootTimeoutSeconds\": \"soon\"}");
      CliProcess.Run type = checked(CliProcess.run(Map.of(), null, "daemon", "--config", config.toString(), "--data-dir", "/tmp/kiln-never-used"));
      assertEquals(2, type.exit(), type.all());
      assertTrue(type.err().contains("bootTimeoutSeconds"), type.err());
    } finally {
      Files.deleteIfExists(config);
    }
  }

  @Test
  void aClusterRoleWithoutASharedDatabaseOrAnUnknownRoleIsRefusedInWords() throws Exception {
    Path data = Files.createTempDirectory("kiln-role");
    try {
      CliProcess.Run control = checked(CliProcess.run(Map.of(), null, "daemon", "--role", "control", "--data-dir", data.toString(), "--listen", "127.0.0.1:0"));
      assertEquals(1, control.exit(), control.all());
      assertTrue(control.err().contains("a control daemon needs the PostgreSQL database its cluster shares (the `database` config key"), control.err());
      CliProcess.Run bogus = checked(CliProcess.run(Map.of(), null, "daemon", "--role", "leader", "--data-dir", data.toString()));
      assertEquals(2, bogus.exit(), bogus.all());
      assertTrue(bogus.err().contains("invalid value for --role: 'leader' (combined, control or node)"), bogus.err());
    } finally {
      dev.kiln.host.AtomicFiles.deleteTree(data);
    }
  }
}
