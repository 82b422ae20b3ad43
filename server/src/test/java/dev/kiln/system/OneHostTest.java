package dev.kiln.system;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** A test class that shares one daemon (no template snapshots) across its tests. */
abstract class OneHostTest {
  static TestHost host;

  @BeforeAll
  static void upWithOneHost() throws Exception {
    host = TestHost.start();
  }

  @AfterAll
  static void downWithOneHost() throws Exception {
    if (host != null) host.close();
  }
}
