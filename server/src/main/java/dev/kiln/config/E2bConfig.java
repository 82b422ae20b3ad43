package dev.kiln.config;

import java.nio.file.Path;
import java.util.Locale;

/**
 * E2B's host-name scheme (docs/e2b.md): with a domain, E2B's SDK needs only E2B_DOMAIN and
 * E2B_API_KEY. Without one, E2B's API is served on `listen` alone, for E2B_API_URL and
 * E2B_SANDBOX_URL. Each key's description and range: its {@link ConfigDoc}, published as docs/config.md.
 */
public record E2bConfig(
    @ConfigDoc(value = "the domain E2B's SDK is given (E2B_DOMAIN): its API is then `https://api.<domain>`, a sandbox's envd `https://49983-<sandboxId>.<domain>` and its ports `https://<port>-<sandboxId>.<domain>`, all served by an HTTPS port proxy; DNS must send these names to it", defaultText = "none: E2B's API only on `listen`")
    String domain,
    @ConfigDoc(value = "host:port of that HTTPS listener; the SDK's URLs name no port, so clients must reach it on 443", range = "host:port")
    String listen,
    @ConfigDoc("PEM file of the certificate (with its chain) for `api.<domain>` and `*.<domain>`")
    Path certificate,
    @ConfigDoc("PEM file of its private key, unencrypted PKCS#8 (`BEGIN PRIVATE KEY`); keep it readable by root only")
    Path privateKey) {
  public static final E2bConfig NONE = new E2bConfig(null, null, null, null);

  public E2bConfig {
    if (listen == null) listen = "127.0.0.1:443";
    if (!listen.matches("[^:\\s]+:\\d{1,5}")) throw new IllegalArgumentException("e2b.listen must be host:port, got '" + listen + "'");
    if (domain != null) {
      if (!domain.equals(domain.toLowerCase(Locale.ROOT)) || !domain.matches("([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?") || domain.length() > 200) {
        throw new IllegalArgumentException("e2b.domain must be a lowercase DNS name with at least two labels, got '" + domain + "'");
      }
      if (certificate == null || privateKey == null) {
        throw new IllegalArgumentException("e2b.domain needs e2b.certificate and e2b.privateKey: E2B's SDK reaches the domain's names over HTTPS only");
      }
    } else if (certificate != null || privateKey != null) {
      throw new IllegalArgumentException("e2b.certificate and e2b.privateKey are for e2b.domain, which is missing");
    }
  }

  public boolean hostNames() {
    return domain != null;
  }
}
