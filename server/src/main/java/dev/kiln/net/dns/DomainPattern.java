package dev.kiln.net.dns;

import java.util.regex.Pattern;

/**
 * A domain rule of an egress policy: {@code example.com} matches exactly that name;
 * {@code *.example.com} matches any name below example.com, at any depth, but not example.com
 * itself. Case-insensitive; one trailing dot is ignored. The pattern is kept in its canonical form
 * (lower case, no trailing dot), so two spellings of one rule are equal.
 *
 * @throws IllegalArgumentException from the constructor when a label is empty, longer than 63
 *     characters or holds anything but {@code [a-z0-9-_]}, when the name exceeds 253 characters, or
 *     when {@code *} appears anywhere but as the whole first label of a longer name
 */
public record DomainPattern(String pattern) {
  private static final Pattern LABEL = Pattern.compile("[a-z0-9_-]{1,63}");
  /** RFC 1035 2.3.4: 255 bytes on the wire are 253 characters in dotted text. */
  private static final int MAX_NAME = 253;
  private static final String WILDCARD = "*.";

  public DomainPattern {
    if (pattern == null) throw new IllegalArgumentException("domain pattern is null");
    String given = pattern;
    pattern = canonical(pattern);
    if (pattern.isEmpty()) throw new IllegalArgumentException("domain pattern '" + given + "' is empty");
    if (pattern.length() > MAX_NAME) {
      throw new IllegalArgumentException("domain pattern '" + given + "' has " + pattern.length()
          + " characters, the limit is " + MAX_NAME);
    }
    String domain = pattern.startsWith(WILDCARD) ? pattern.substring(WILDCARD.length()) : pattern;
    if (domain.equals("*")) {
      throw new IllegalArgumentException("domain pattern '" + given + "' needs a domain after '*.'");
    }
    for (String label : domain.split("\\.", -1)) {
      if (!LABEL.matcher(label).matches()) {
        throw new IllegalArgumentException("domain pattern '" + given + "' has label '" + label
            + "'; expected 1 to 63 of [a-z0-9-_], with '*' only as the whole first label");
      }
    }
  }

  public static DomainPattern parse(String s) {
    return new DomainPattern(s);
  }

  /** {@code name} in any case, with or without its trailing dot; false for null. */
  public boolean matches(String name) {
    if (name == null) return false;
    String n = canonical(name);
    if (!pattern.startsWith(WILDCARD)) return n.equals(pattern);
    String suffix = pattern.substring(1); // ".example.com": at least one label must precede it
    return n.length() > suffix.length() && n.endsWith(suffix);
  }

  /**
   * Lower-cases ASCII only: {@link String#toLowerCase} would turn the Kelvin sign into 'k' and let
   * a name that is not example.com match it.
   */
  private static String canonical(String s) {
    String n = s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    StringBuilder b = new StringBuilder(n.length());
    for (int i = 0; i < n.length(); i++) {
      char c = n.charAt(i);
      b.append(c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c);
    }
    return b.toString();
  }
}
