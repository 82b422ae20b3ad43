package dev.kiln.net.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DnsDomainPatternTest {
  @Test
  void exactMatchesOnlyThatName() {
    DomainPattern p = DomainPattern.parse("example.com");
    assertTrue(p.matches("example.com"));
    assertFalse(p.matches("www.example.com"));
    assertFalse(p.matches("example.co"));
    assertFalse(p.matches("notexample.com"));
    assertFalse(p.matches("com"));
  }

  @Test
  void wildcardMatchesAnyDepthBelowButNotTheApex() {
    DomainPattern p = DomainPattern.parse("*.example.com");
    assertTrue(p.matches("www.example.com"));
    assertTrue(p.matches("a.b.c.example.com"));
    assertFalse(p.matches("example.com"));
    assertFalse(p.matches("badexample.com"));
    assertFalse(p.matches("www.example.com.evil.net"));
    assertFalse(p.matches(".example.com"), "an empty label is not a name below");
  }

  @Test
  void caseAndTrailingDotDoNotMatter() {
    DomainPattern p = DomainPattern.parse("*.Example.COM.");
    assertEquals("*.example.com", p.pattern(), "kept in canonical form");
    assertEquals(DomainPattern.parse("*.example.com"), p);
    assertTrue(p.matches("WWW.EXAMPLE.com."));
    assertTrue(DomainPattern.parse("example.com").matches("EXAMPLE.COM."));
  }

  @Test
  void onlyAsciiCaseFolds() {
    // U+212A KELVIN SIGN lower-cases to 'k' in Java; it must not pass for one.
    assertFalse(DomainPattern.parse("kiln.dev").matches("\u212Ailn.dev"));
  }

  @Test
  void escapedBytesNeverMatchADot() {
    // What the resolver passes for the one-label name "evil.example" under com.
    assertFalse(DomainPattern.parse("evil.example.com").matches("evil\\046example.com"));
    assertTrue(DomainPattern.parse("*.com").matches("evil\\046example.com"));
  }

  @Test
  void underscoresAndDigitsAndHyphensAreLabels() {
    assertTrue(DomainPattern.parse("_dmarc.x-1.example").matches("_DMARC.X-1.example"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ".", "*", "*.", "**.example.com", "w*.example.com", "www.*.example.com", "*.*.example.com",
      "example..com", ".example.com", "exa mple.com", "exämple.com", "example.com/x", "a..", "..",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com"})
  void invalidPatternsAreRejected(String bad) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DomainPattern.parse(bad));
    assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
  }

  @Test
  void lengthLimitIsTheDnsOne() {
    String label = "a".repeat(63);
    String ok = String.join(".", label, label, label, "a".repeat(61)); // 253 characters
    assertEquals(253, ok.length());
    assertTrue(DomainPattern.parse(ok).matches(ok + "."));
    assertThrows(IllegalArgumentException.class, () -> DomainPattern.parse(ok + "a"));
    assertThrows(IllegalArgumentException.class, () -> DomainPattern.parse(null));
  }

  @Test
  void nullNameMatchesNothing() {
    assertFalse(DomainPattern.parse("example.com").matches(null));
  }
}
