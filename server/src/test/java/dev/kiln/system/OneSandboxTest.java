package dev.kiln.system;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** A test class that shares one daemon (no template snapshots) and one running sandbox across its tests. */
abstract class OneSandboxTest {
  static TestHost host;
  static String sandbox;

  @BeforeAll
  static void upWithOneSandbox() throws Exception {
    host = TestHost.start();
    sandbox = host.createSandbox();
  }

  @AfterAll
  static void downWithOneSandbox() throws Exception {
    if (host != null) host.close();
  }
}
