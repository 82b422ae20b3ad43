package dev.kiln.build;

import dev.kiln.config.BuildsConfig;
import dev.kiln.image.BuildOptions;
import dev.kiln.net.NetworkSpec;
import dev.kiln.sandbox.BuildVms;
import java.time.Duration;
import java.util.Optional;

/** The daemon's limits and defaults for Dockerfile builds (the {@code builds} config section), applied to a request. */
record BuildSettings(BuildsConfig config) {
  static final long MIB = 1 << 20;

  long maxContextBytes() {
    return config.maxContextMib() * MIB;
  }

  Duration stepTimeout() {
    return Duration.ofMinutes(config.stepTimeoutMinutes());
  }

  /** A build VM as the request asks, within the daemon's bounds. */
  BuildVms.Settings buildVm(BuildOptions o) {
    return new BuildVms.Settings(config.vcpus(), config.memoryMib(), o.diskMib().orElse(config.diskMib()) * MIB,
        o.internet() ? Optional.of(NetworkSpec.INTERNET) : Optional.empty());
  }
}
