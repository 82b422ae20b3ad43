package dev.kiln.image.oci;

import java.io.IOException;

/** A registry said no, or sent something Kiln refuses; the message names registry, image and HTTP status. */
public final class RegistryException extends IOException {
  public RegistryException(String message) {
    super(message);
  }

  public RegistryException(String message, Throwable cause) {
    super(message, cause);
  }
}
