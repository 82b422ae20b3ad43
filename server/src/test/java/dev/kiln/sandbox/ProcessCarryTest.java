package dev.kiln.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A background process carried to another node by a live migration keeps its output's offsets, so a client's cursor stays valid. */
class ProcessCarryTest {
  @Test
  void aCarriedProcessReplaysFromACursorExactlyAsTheSourceWould() throws Exception {
    GuestProcess source = new GuestProcess(42, List.of("sh", "-c", "ticker"), false, false, null, 16, Duration.ofMinutes(1));
    source.append(false, "line-0\n".getBytes(StandardCharsets.UTF_8));
    source.append(true, "oops\n".getBytes(StandardCharsets.UTF_8));
    source.append(false, "line-1\n".getBytes(StandardCharsets.UTF_8));
    MovedProcess moved = source.leaving();
    assertEquals(19, moved.outputEnd());
    assertEquals(3, moved.outputStart(), "what no longer fit was dropped before the move, as it would have been on the source");

    GuestProcess arrived = GuestProcess.arrived(moved, 16);
    assertEquals(42, arrived.pid());
    assertEquals(List.of("sh", "-c", "ticker"), arrived.argv());
    assertEquals(19, arrived.outputBytes());
    assertTrue(arrived.suspended(), "followed only once the new node's session lists it");
    arrived.append(false, "line-2\n".getBytes(StandardCharsets.UTF_8));
    assertEquals("line-1\nline-2\n", replay(arrived, 12), "a client that had read up to offset 12 gets exactly what followed");
  }

  @Test
  void keptOutputWithAHoleIsRefused() {
    var gap = List.of(new MovedProcess.Output(0, false, new byte[] {1, 2}), new MovedProcess.Output(3, false, new byte[] {4}));
    assertThrows(IllegalArgumentException.class, () -> new MovedProcess(1, List.of(), false, false, false, 0, 0, 0, 4, gap));
    assertThrows(IllegalArgumentException.class, () -> new MovedProcess(1, List.of(), false, false, false, 0, 0, 0, 5,
        List.of(new MovedProcess.Output(0, false, new byte[] {1, 2}))), "the end must be where the kept output ends");
  }

  private static String replay(GuestProcess p, long cursor) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    p.follow(cursor, false, Duration.ZERO, new OutputFollower() {
      @Override
      public void overflow(long dropped, long resume) {
        throw new AssertionError("nothing was dropped after the cursor");
      }

      @Override
      public void output(Scrollback.Chunk c) {
        out.writeBytes(c.data());
      }

      @Override
      public void replayed(long at) {}

      @Override
      public void idle(long at) {}

      @Override
      public void ended(GuestProcess process) {}
    });
    return out.toString(StandardCharsets.UTF_8);
  }
}
