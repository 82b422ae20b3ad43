package dev.kiln.image.oci;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** A registry user name and password (or token). Never logged: {@link #toString} hides the secret. */
public record Credentials(String username, String password) {
  public Credentials {
    if (username == null || username.isEmpty() || password == null) throw new IllegalArgumentException("credentials need a username and a password");
  }

  String basicHeader() {
    return "Basic " + Base64.getEncoder().encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return "Credentials[" + username + ", ****]";
  }
}
