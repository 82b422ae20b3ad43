package dev.kiln.image;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What a Dockerfile build request sets beside the Dockerfile: the build VMs' size and network,
 * and overrides of the template's runtime (a start command "" removes the Dockerfile's).
 *
 * @param internet whether RUN steps reach the internet (never the host, the daemon or the metadata address)
 */
public record BuildOptions(OptionalInt vcpus, OptionalInt memoryMib, OptionalLong diskMib, boolean internet, Optional<String> start,
    Optional<String> readyCommand, OptionalInt readyPort, OptionalInt readyTimeoutSeconds) {
  /** A shell command as the argv the template runs it with. */
  public static List<String> shell(String command) {
    return List.of("/bin/sh", "-c", command);
  }
}
