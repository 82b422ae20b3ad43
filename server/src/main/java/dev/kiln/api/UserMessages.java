package dev.kiln.api;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Error messages as users see them: never a Java class or exception name. */
public final class UserMessages {
  private static final Logger log = LoggerFactory.getLogger(UserMessages.class);

  private UserMessages() {}

  /** An id to quote for an error whose detail is in the daemon's log. */
  public static String incidentId() {
    return "i-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() >>> 16);
  }

  /**
   * Messages are written for users, but some carry text from below (a JDK exception's message);
   * one that names a Java class or exception is logged and replaced, so none ever reaches a client.
   */
  public static String of(String code, String message) {
    String generic = code.toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    if (message == null || message.isBlank()) return generic;
    if (!JAVA_NAME.matcher(message).find()) return message;
    String incident = incidentId();
    log.warn("error message with Java names replaced incident={} code={} message=\"{}\"", incident, code, message);
    return generic + " (details in the daemon's log, incident " + incident + ")";
  }

  /**
   * A package-qualified class name (java.lang.NullPointerException; "java.com" in a rule is not
   * one), an exception or error class name, or a nested class name (Bodies$CreateSandbox).
   */
  private static final java.util.regex.Pattern JAVA_NAME = java.util.regex.Pattern.compile(
      "\\b(java|javax|jdk|sun|dev\\.kiln|com\\.fasterxml|org\\.eclipse|org\\.sqlite|org\\.flywaydb|org\\.postgresql|com\\.zaxxer)(\\.[a-z][a-z0-9_]*)*\\.[A-Z]|\\w(Exception|Error)\\b|\\w\\$[A-Z]");
}
