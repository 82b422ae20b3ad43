package dev.kiln.sandbox;

import java.security.SecureRandom;
import java.util.regex.Pattern;

/** A sandbox id: {@code sb-} and 16 base-32 characters (80 random bits, so ids are unguessable). */
public record SandboxId(String value) {
  private static final Pattern FORMAT = Pattern.compile("sb-[a-z2-7]{16}");
  private static final char[] ALPHABET = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  public SandboxId {
    if (value == null || !FORMAT.matcher(value).matches()) throw new IllegalArgumentException("not a sandbox id: '" + value + "'");
  }

  public static SandboxId random() {
    StringBuilder b = new StringBuilder("sb-");
    for (int i = 0; i < 16; i++) b.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
    return new SandboxId(b.toString());
  }

  public static boolean isValid(String s) {
    return s != null && FORMAT.matcher(s).matches();
  }

  /**
   * The answer for an id that names no sandbox the caller may see, the same word for word whether
   * it names none at all or another key's: the two cannot be told apart.
   */
  public static dev.kiln.error.KilnException notFound(String id) {
    return new dev.kiln.error.KilnException(dev.kiln.error.ErrorCode.SANDBOX_NOT_FOUND, "no sandbox '" + id + "'");
  }

  @Override
  public String toString() {
    return value;
  }
}
