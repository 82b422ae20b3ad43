package dev.kiln.system;

import org.junit.jupiter.api.BeforeAll;

/** A test class that shares one daemon (no template snapshots) and one running sandbox across its tests. */
abstract class OneSandboxTest extends OneHostTest {
  static String sandbox;

  @BeforeAll
  static void upWithOneSandbox() throws Exception {
    sandbox = host.createSandbox();
  }
}
