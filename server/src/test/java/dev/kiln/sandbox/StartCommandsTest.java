package dev.kiln.sandbox;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StartCommandsTest {
  private static final String TCP = """
        sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
         0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
         1: 0100007F:0016 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 12346 1 0000000000000000 100 0 0 10 0
      """;

  @Test
  void aPortCountsAsReadyOnlyWhenASocketListensOnIt() {
    assertTrue(StartCommands.listensOn(TCP, 8080));
    assertFalse(StartCommands.listensOn(TCP, 22), "an established connection on 22 is not a listener");
    assertFalse(StartCommands.listensOn(TCP, 9000));
    assertFalse(StartCommands.listensOn("garbage\n\n :x 0A\n", 8080), "a line the guest garbled is skipped");
  }
}
