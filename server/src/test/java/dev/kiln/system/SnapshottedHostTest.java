package dev.kiln.system;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** A test class that shares one daemon whose test template is snapshotted before the first test. */
abstract class SnapshottedHostTest {
  static TestHost host;

  @BeforeAll
  static void upWithSnapshot() throws Exception {
    host = TestHost.startWithSnapshots();
    host.awaitTemplateSnapshot();
  }

  @AfterAll
  static void downWithSnapshot() throws Exception {
    if (host != null) host.close();
  }
}
