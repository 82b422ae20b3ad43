package dev.kiln.e2b;

import dev.kiln.sandbox.Sandbox;
import dev.kiln.sandbox.SandboxState;
import dev.kiln.sandbox.SandboxUsage;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Kiln's sandboxes in the shapes E2B's API answers with (Sandbox, SandboxDetail, ListedSandbox, SandboxMetric). */
final class E2bViews {
  /**
   * The envd version Kiln's envd speaks: 0.6.4 unlocks every feature of the SDK it serves (recursive
   * watches, closing stdin, octet-stream uploads, entries in watch events); file metadata (0.6.2)
   * is answered with a clear refusal.
   */
  static final String ENVD_VERSION = "0.6.4";
  private final EnvdTokens tokens;
  private final Optional<String> domain;

  E2bViews(EnvdTokens tokens, Optional<String> domain) {
    this.tokens = tokens;
    this.domain = domain;
  }

  /** The answer to create and connect: what the SDK needs to reach the sandbox's envd. */
  Map<String, Object> created(Sandbox s) {
    Map<String, Object> m = common(s);
    m.put("envdAccessToken", tokens.tokenFor(s.id()));
    // The port proxy's token for the sandbox's own ports (none when they are public), sent back in e2b-traffic-access-token.
    m.put("trafficAccessToken", s.network().accessToken().orElse(null));
    m.put("domain", domain.orElse(null));
    return m;
  }

  Map<String, Object> detail(Sandbox s) {
    Map<String, Object> m = listed(s);
    m.put("domain", domain.orElse(null));
    m.put("envdAccessToken", tokens.tokenFor(s.id()));
    m.put("allowInternetAccess", s.network().spec().mode() == dev.kiln.net.NetworkMode.INTERNET);
    m.put("lifecycle", Map.of("onTimeout", s.onTimeout().equals("pause") ? "pause" : "kill", "autoResume", true));
    return m;
  }

  Map<String, Object> listed(Sandbox s) {
    Map<String, Object> m = common(s);
    m.put("startedAt", s.createdAt().toString());
    m.put("endAt", s.expiresAt().map(Instant::toString).orElse(null));
    m.put("cpuCount", s.vcpus());
    m.put("memoryMB", s.memoryMib());
    m.put("diskSizeMB", s.diskMib().orElse(0));
    m.put("metadata", s.metadata());
    m.put("state", state(s));
    m.put("volumeMounts", List.of());
    return m;
  }

  /** E2B knows two states; a stopped sandbox, which connect starts again, shows as paused. */
  static String state(Sandbox s) {
    return s.state() == SandboxState.RUNNING || s.state() == SandboxState.CREATING ? "running" : "paused";
  }

  private static Map<String, Object> common(Sandbox s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("sandboxID", s.id());
    // The template version it was made from (NAME:VERSION), and the template's name as E2B's alias.
    m.put("templateID", s.template());
    m.put("alias", s.template().contains(":") ? s.template().substring(0, s.template().lastIndexOf(':')) : s.template());
    m.put("clientID", "kiln");
    m.put("envdVersion", ENVD_VERSION);
    return m;
  }

  /**
   * One sample, now: E2B's metrics are a series, Kiln's a reading. CPU is the average use since the
   * sandbox was made (Kiln counts CPU seconds, not a rate); a count the host cannot give is 0.
   */
  Map<String, Object> metric(Sandbox s, SandboxUsage u) {
    Map<String, Object> m = new LinkedHashMap<>();
    double alive = Math.max(1e-3, (u.at().toEpochMilli() - s.createdAt().toEpochMilli()) / 1000.0);
    m.put("timestamp", u.at().toString());
    m.put("timestampUnix", u.at().getEpochSecond());
    m.put("cpuCount", s.vcpus());
    m.put("cpuUsedPct", u.cpuSeconds() < 0 ? 0 : Math.min(100.0, 100.0 * u.cpuSeconds() / alive / Math.max(1, s.vcpus())));
    m.put("memUsed", Math.max(0, u.memoryBytes()));
    m.put("memTotal", u.memoryLimitBytes() > 0 ? u.memoryLimitBytes() : s.memoryMib() << 20);
    m.put("memCache", 0);
    m.put("diskUsed", Math.max(0, u.diskBytes()));
    m.put("diskTotal", s.diskMib().orElse(0) << 20);
    return m;
  }
}
