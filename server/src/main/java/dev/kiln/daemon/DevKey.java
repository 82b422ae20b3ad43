package dev.kiln.daemon;

import dev.kiln.access.ApiKeys;
import dev.kiln.access.KeyLimits;
import dev.kiln.access.Role;
import dev.kiln.config.KilnConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The first key of a daemon users call (combined or control): generated and printed in dev mode, or a warning that none exists. */
final class DevKey {
  private static final Logger log = LoggerFactory.getLogger(DevKey.class);

  private DevKey() {}

  static void announce(KilnConfig config, ApiKeys keys) throws IOException {
    if (config.devMode() && !keys.anyConfigured()) {
      String key = keys.create("dev", Role.ADMIN, KeyLimits.NONE).key();
      Path keyFile = config.dataDir().resolve("dev-api-key");
      Files.writeString(keyFile, key + "\n");
      Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
      System.out.println("kiln dev mode: generated API key (also in " + keyFile + "):\n  " + key);
    } else if (!keys.anyConfigured()) {
      log.warn("no API keys exist and KILN_API_KEY is unset: every request but /healthz will be refused (use --dev for a generated key)");
    }
  }
}
