package dev.kiln.net.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The parsers on their own: names, compression limits, and the answer sections of upstream replies. */
class DnsWireTest {
  private static final String HEADER = "0000 0000 0000 0000 0000 0000";
  private static final Question WWW = new Question(new DnsName(List.of("www", "example", "com")), Question.A, Question.IN);

  @Test
  void compressedNamesAreFollowedAndTheCursorResumesAfterThePointer() throws Exception {
    // 12: "example.com"; 25: "www" + pointer to 12
    WireReader r = reader(HEADER + "076578616d706c6503636f6d00 03777777c00c ff", 25);
    assertEquals("www.example.com", r.name().text());
    assertEquals(0xff, r.u8(), "cursor right after the pointer");
  }

  @Test
  void pointerChainsMustGoStrictlyBackwards() {
    // 12: "a" + pointer to 15; 15: pointer to 12 — each points at the other
    assertThrows(DnsFormatException.class, () -> reader(HEADER + "0161c00f c00c", 15).name());
    assertThrows(DnsFormatException.class, () -> reader(HEADER + "c00c", 12).name(), "to itself");
    assertThrows(DnsFormatException.class, () -> reader(HEADER + "0161c00c", 12).name(), "to its own start");
    assertThrows(DnsFormatException.class, () -> reader(HEADER + "c0", 12).name(), "half a pointer");
  }

  @Test
  void aLongBackwardChainIsBounded() {
    // 65 pointers, each to the one before it: no loop, but more jumps than any real name needs
    StringBuilder msg = new StringBuilder(HEADER + "00");
    for (int i = 0; i < 65; i++) msg.append(String.format("c0%02x", i == 0 ? 12 : 13 + 2 * (i - 1)));
    DnsFormatException e = assertThrows(DnsFormatException.class, () -> reader(msg.toString(), 13 + 2 * 64).name());
    assertTrue(e.getMessage().contains("pointers"), e.getMessage());
  }

  @Test
  void namesAreEscapedSoNoLabelCarriesADot() throws Exception {
    // one label "a.B c" then "com"
    assertEquals("a\\046b\\032c.com", reader(HEADER + "05612e422063 03636f6d 00", 12).name().text());
    assertEquals("", reader(HEADER + "00", 12).name().text(), "the root");
  }

  @Test
  void answersFollowTheCnameChainAndIgnoreOtherOwners() throws Exception {
    String msg = HEADER
        + "03777777076578616d706c6503636f6d00 0001 0001" // 12: question www.example.com A
        + "c00c 0005 0001 00000e10 0006 03636466c010" // www CNAME cdf.example.com (pointer to example.com at 16), TTL 3600
        + "03636466c010 0001 0001 0000003c 0004 c0000201" // cdf.example.com A 192.0.2.1, TTL 60
        + "056f74686572c010 0001 0001 00000001 0004 0a000001" // other.example.com A 10.0.0.1: not in the chain
        + "c00c 001c 0001 00000005 0010 00000000000000000000000000000001"; // AAAA: skipped
    ForwardResult result = ForwardResult.read(bytes(msg.replace(HEADER, "0000 8180 0001 0004 0000 0000")), WWW);
    Answers answers = assertInstanceOf(ForwardResult.Answered.class, result).answers();
    assertEquals(List.of(DnsServerTest.ipv4("192.0.2.1")), answers.addresses());
    assertEquals(60, answers.minTtlSeconds());
  }

  @Test
  void zeroOrHugeTtlsBecomeOneSecond() throws Exception {
    String msg = "0000 8180 0001 0001 0000 0000 03777777076578616d706c6503636f6d00 0001 0001"
        + "c00c 0001 0001 80000000 0004 c0000201";
    Answers answers = ((ForwardResult.Answered) ForwardResult.read(bytes(msg), WWW)).answers();
    assertEquals(1, answers.minTtlSeconds());
  }

  @Test
  void brokenAnswerSectionsAreRejected() {
    String question = "03777777076578616d706c6503636f6d00 0001 0001";
    assertThrows(DnsFormatException.class, () -> ForwardResult.read(
        bytes("0000 8180 0001 0001 0000 0000" + question + "c00c 0001 0001 0000003c 0005 c000020101"), WWW), "A of 5 bytes");
    assertThrows(DnsFormatException.class, () -> ForwardResult.read(
        bytes("0000 8180 0001 ffff 0000 0000" + question + "c00c 0001 0001 0000003c 0004 c0000201"), WWW), "65535 answers claimed");
    assertThrows(DnsFormatException.class, () -> ForwardResult.read(
        bytes("0000 8180 0001 0001 0000 0000" + question + "c00c 0001 0001 0000003c 0400 c0000201"), WWW), "data past the end");
    assertThrows(DnsFormatException.class, () -> ForwardResult.read(
        bytes("0000 8180 0001 0001 0000 0000" + question + "c00c 0005 0001 0000003c 0004 c00c0000"), WWW), "CNAME shorter than its data");
    assertThrows(DnsFormatException.class, () -> ForwardResult.read(
        bytes("0000 8180 0001 0001 0000 0000" + question + "c029 0001 0001 0000003c 0004 c0000201"), WWW), "owner pointing at itself");
  }

  @Test
  void repliesCountOnlyWithOurIdAndQuestion() throws Exception {
    String question = "03777777076578616d706c6503636f6d00 0001 0001";
    assertTrue(ForwardResult.answers(bytes("1234 8180 0001 0000 0000 0000" + question), 0x1234, WWW));
    assertTrue(ForwardResult.answers(bytes("1234 8180 0001 0000 0000 0000" + question.replace("777777", "575757")), 0x1234, WWW),
        "case does not matter");
    assertFalse(ForwardResult.answers(bytes("1235 8180 0001 0000 0000 0000" + question), 0x1234, WWW), "other ID");
    assertFalse(ForwardResult.answers(bytes("1234 0180 0001 0000 0000 0000" + question), 0x1234, WWW), "a query");
    assertFalse(ForwardResult.answers(bytes("1234 8180 0001 0000 0000 0000" + question.replace("0001 0001", "001c 0001")), 0x1234, WWW),
        "other type");
    assertFalse(ForwardResult.answers(bytes("1234 8180 0001 0000 0000 0000 03777777 00 0001 0001"), 0x1234, WWW), "other name");
    assertFalse(ForwardResult.answers(bytes("1234 8180"), 0x1234, WWW), "no header");
    assertTrue(ForwardResult.read(
        bytes("1234 8380 0001 0000 0000 0000" + question), WWW) instanceof ForwardResult.Truncated, "TC");
  }

  private static WireReader reader(String hex, int at) {
    return new WireReader(bytes(hex), at);
  }

  private static byte[] bytes(String hex) {
    return HexFormat.of().parseHex(hex.replace(" ", ""));
  }
}
