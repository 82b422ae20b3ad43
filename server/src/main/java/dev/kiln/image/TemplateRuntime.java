package dev.kiln.image;

import java.util.List;

/**
 * How a template's sandboxes run beyond its image config: a start command (a service started in
 * the template's snapshot, so every sandbox restored from it has the service up) and the readiness
 * check the snapshot waits for, the ports its Dockerfile exposes, and the default size of its
 * sandboxes. Zero means unset.
 *
 * @param start               argv of the start command; empty: none
 * @param readyCommand        argv that must exit 0 for the service to count as ready; empty: none
 * @param readyPort           a TCP port that must be listening in the guest for it to count as ready; 0: none
 * @param readyTimeoutSeconds how long the check may take before the service counts as failed
 */
public record TemplateRuntime(List<String> start, List<String> readyCommand, int readyPort, int readyTimeoutSeconds, List<Integer> exposedPorts,
    int vcpus, int memoryMib) {
  public static final int DEFAULT_READY_TIMEOUT_SECONDS = 60;
  public static final TemplateRuntime NONE = new TemplateRuntime(List.of(), List.of(), 0, 0, List.of(), 0, 0);

  public TemplateRuntime {
    start = start == null ? List.of() : List.copyOf(start);
    readyCommand = readyCommand == null ? List.of() : List.copyOf(readyCommand);
    exposedPorts = exposedPorts == null ? List.of() : List.copyOf(exposedPorts);
    if (readyPort < 0 || readyPort > 65535) throw new IllegalArgumentException("readyPort must be 1..65535, got " + readyPort);
    if (readyTimeoutSeconds < 0 || readyTimeoutSeconds > 3600) throw new IllegalArgumentException("readyTimeoutSeconds must be 1..3600, got " + readyTimeoutSeconds);
  }

  /** The port the readiness check waits on: the one given, else the first exposed one when there is no ready command. */
  public int portToCheck() {
    if (readyPort > 0) return readyPort;
    return readyCommand.isEmpty() && !exposedPorts.isEmpty() ? exposedPorts.getFirst() : 0;
  }

  public java.time.Duration readyTimeout() {
    return java.time.Duration.ofSeconds(readyTimeoutSeconds > 0 ? readyTimeoutSeconds : DEFAULT_READY_TIMEOUT_SECONDS);
  }
}
