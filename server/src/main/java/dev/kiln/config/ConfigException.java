package dev.kiln.config;

/**
 * The daemon's config file cannot be used; the message names the file, the key and what is wrong
 * with it, in the words of the file (never a Java type), ready to print as it is.
 */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
