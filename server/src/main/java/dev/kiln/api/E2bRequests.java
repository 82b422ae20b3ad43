package dev.kiln.api;

/**
 * Which requests are E2B's (docs/e2b.md), by the paths and header its SDK uses, none of which
 * Kiln's own API has: envd's (a sandbox named in {@link #SANDBOX_HEADER}, or its paths) and the
 * control plane's ({@code /sandboxes…}, {@code /v2/sandboxes…}).
 */
public final class E2bRequests {
  /** The header E2B's SDK names the sandbox of an envd request in. */
  public static final String SANDBOX_HEADER = "E2b-Sandbox-Id";
  public static final String PROCESS = "/process.Process/";
  public static final String FILESYSTEM = "/filesystem.Filesystem/";

  private E2bRequests() {}

  public static boolean isE2b(Exchange x) {
    return isEnvd(x) || isControl(x.requestPath());
  }

  public static boolean isEnvd(Exchange x) {
    String path = x.requestPath();
    return x.header(SANDBOX_HEADER) != null || path.equals("/health") || path.equals("/files") || path.startsWith(PROCESS) || path.startsWith(FILESYSTEM);
  }

  private static boolean isControl(String path) {
    return path.equals("/sandboxes") || path.startsWith("/sandboxes/") || path.equals("/v2/sandboxes") || path.startsWith("/v2/sandboxes/")
        || path.equals("/snapshots");
  }
}
