package dev.kiln.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FrameCodecTest {
  private static byte[] header(int version, int type, int stream, long length) {
    return ByteBuffer.allocate(12).put((byte) version).put((byte) type).putShort((short) 0).putInt(stream).putInt((int) length).array();
  }

  @Test
  void roundTripsAFrame() throws Exception {
    byte[] wire = FrameCodec.encode(FrameType.STDOUT, 7, "hi\n".getBytes());
    Frame f = FrameCodec.read(new ByteArrayInputStream(wire));
    assertEquals(FrameType.STDOUT, f.type());
    assertEquals(7, f.stream());
    assertArrayEquals("hi\n".getBytes(), f.payload());
  }

  @Test
  void cleanEofBetweenFramesIsNull() throws Exception {
    assertNull(FrameCodec.read(new ByteArrayInputStream(new byte[0])));
  }

  @Test
  void refusesAHugeLengthBeforeReadingTheBody() {
    // A 2 GiB claim with no body behind it: must fail on the header alone, not try to allocate.
    var in = new ByteArrayInputStream(header(1, 0x43, 1, 0x8000_0000L));
    ProtocolException e = assertThrows(ProtocolException.class, () -> FrameCodec.read(in));
    assertEquals("frame of 2147483648 bytes on stream 1, the limit is 1048576", e.getMessage());
  }

  @Test
  void refusesUnknownTypeAndVersion() {
    assertThrows(ProtocolException.class, () -> FrameCodec.read(new ByteArrayInputStream(header(1, 0x7f, 1, 0))));
    ProtocolException e = assertThrows(ProtocolException.class, () -> FrameCodec.read(new ByteArrayInputStream(header(2, 0x43, 1, 0))));
    assertEquals("frame version 2, expected 1", e.getMessage());
  }

  @Test
  void truncatedBodyIsAnEof() {
    byte[] h = header(1, 0x43, 1, 10);
    byte[] wire = ByteBuffer.allocate(15).put(h).put(new byte[3]).array();
    assertThrows(EOFException.class, () -> FrameCodec.read(new ByteArrayInputStream(wire)));
  }

  @Test
  void decodesExitAndRejectsTrailingBytes() throws Exception {
    ByteBuffer p = ByteBuffer.allocate(1 + 4 + 1 + 24).put((byte) 0).putInt(3).put((byte) 0).putLong(1500).putLong(500).putLong(2048);
    GuestMessage m = GuestMessage.decode(new Frame(FrameType.EXIT, 1, p.array()));
    ExitStatus s = assertInstanceOf(GuestMessage.Exit.class, m).status();
    assertEquals(3, s.exitCode());
    assertEquals(2, s.cpu().toMillis());
    assertEquals(2048, s.peakRssKib());
    byte[] longer = ByteBuffer.allocate(31).put(p.array()).put((byte) 9).array();
    ProtocolException e = assertThrows(ProtocolException.class, () -> GuestMessage.decode(new Frame(FrameType.EXIT, 1, longer)));
    assertEquals("EXIT: 1 unexpected trailing bytes", e.getMessage());
  }

  @Test
  void rejectsHostOnlyTypesAndOversizedStrings() {
    assertThrows(ProtocolException.class, () -> GuestMessage.decode(new Frame(FrameType.EXEC, 1, new byte[0])));
    byte[] err = ByteBuffer.allocate(8).putInt(2).putInt(1 << 30).array();
    ProtocolException e = assertThrows(ProtocolException.class, () -> GuestMessage.decode(new Frame(FrameType.ERROR, 1, err)));
    assertEquals("ERROR: string of 1073741824 bytes, the limit is 65536", e.getMessage());
  }

  @Test
  void randomGarbageNeverEscapesAsAnythingButProtocolOrEof() throws Exception {
    long seed = System.nanoTime();
    System.out.println("FrameCodecTest seed=" + seed);
    Random r = new Random(seed);
    for (int i = 0; i < 5000; i++) {
      byte[] junk = new byte[r.nextInt(64)];
      r.nextBytes(junk);
      if (junk.length > 0) junk[0] = 1; // mostly valid version, so decoding goes deeper
      try {
        Frame f = FrameCodec.read(new ByteArrayInputStream(junk));
        if (f != null) GuestMessage.decode(f);
      } catch (ProtocolException | EOFException expected) {
        // the only acceptable failures
      }
    }
  }

  @Test
  void helloEndsWithTheHostname() {
    byte[] nonce = {1, 2};
    byte[] p = new HostMessage.Hello(5, new byte[] {9}, true, nonce, "sb-abcdefghijklmnop").payload();
    ByteBuffer want = ByteBuffer.allocate(4 + 8 + 5 + 4 + 6 + 4 + 19).putInt(1).putLong(5).putInt(1).put((byte) 9).putInt(1).putInt(2).put(nonce)
        .putInt(19).put("sb-abcdefghijklmnop".getBytes());
    assertArrayEquals(want.array(), p);
    assertThrows(IllegalArgumentException.class, () -> new HostMessage.Hello(5, new byte[0], false, nonce, "a b"));
    assertThrows(IllegalArgumentException.class, () -> new HostMessage.Hello(5, new byte[0], false, nonce, "x".repeat(65)));
    assertEquals("sb-abcdefghijklmnop", AgentConnection.hostnameOf("sb-abcdefghijklmnop"));
    assertEquals("", AgentConnection.hostnameOf("not a hostname"), "a label that is no hostname leaves the guest's as it is");
  }

  @Test
  void aLoginExecSetsFlagBit2AndMayHaveNoArgv() {
    ExecRequest login = new ExecRequest(java.util.List.of(), java.util.Map.of("TERM", "xterm"), "", java.util.OptionalInt.empty(),
        java.util.OptionalInt.empty(), java.util.Optional.empty(), true, java.util.Optional.of(new TerminalSize(24, 80)), true);
    ByteBuffer p = ByteBuffer.wrap(new HostMessage.Exec(login).payload());
    assertEquals(1 | 2 | 4, p.getInt(), "stdin, pty, login");
    assertEquals(0xFFFF_FFFFL, Integer.toUnsignedLong(p.getInt()));
    assertEquals(0xFFFF_FFFFL, Integer.toUnsignedLong(p.getInt()));
    assertEquals(0, p.getInt(), "no timeout");
    assertEquals(0, p.getInt(), "no cwd: the agent starts in the user's home");
    assertEquals(0, p.getInt(), "no argv: the login shell");
    assertEquals("the login shell", login.program());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ExecRequest(java.util.List.of(), java.util.Map.of(), "",
        java.util.OptionalInt.empty(), java.util.OptionalInt.empty(), java.util.Optional.empty(), false));
    assertEquals("argv must not be empty (only a login may leave it empty: the login shell)", e.getMessage());
  }
}
