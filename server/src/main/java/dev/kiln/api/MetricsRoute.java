package dev.kiln.api;

import dev.kiln.sandbox.Sandbox;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxState;
import dev.kiln.sandbox.WarmPools;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.Map;

/** GET /metrics in the Prometheus text format: sandboxes by state and the warm pools. */
final class MetricsRoute {
  private final SandboxManager sandboxes;

  MetricsRoute(SandboxManager sandboxes) {
    this.sandboxes = sandboxes;
  }

  Route route() {
    return new Route("GET", "/metrics", x -> x.bytes(200, "text/plain; version=0.0.4", render().getBytes(StandardCharsets.UTF_8)));
  }

  String render() {
    StringBuilder b = new StringBuilder();
    Map<SandboxState, Integer> byState = new EnumMap<>(SandboxState.class);
    for (SandboxState s : SandboxState.values()) byState.put(s, 0);
    for (Sandbox s : sandboxes.list()) byState.merge(s.state(), 1, Integer::sum);
    header(b, "kiln_sandboxes", "gauge", "Sandboxes on this host by state.");
    byState.forEach((state, n) -> b.append("kiln_sandboxes{state=\"").append(state.wire()).append("\"} ").append(n).append('\n'));
    var pools = sandboxes.pools().list();
    header(b, "kiln_pool_ready", "gauge", "Restored, paused VMs ready to be claimed.");
    for (WarmPools.Status p : pools) sample(b, "kiln_pool_ready", p.template(), p.ready());
    header(b, "kiln_pool_min_ready", "gauge", "Below this many ready VMs the pool refills.");
    for (WarmPools.Status p : pools) sample(b, "kiln_pool_min_ready", p.template(), p.minReady());
    header(b, "kiln_pool_max_ready", "gauge", "A refill stops at this many ready VMs.");
    for (WarmPools.Status p : pools) sample(b, "kiln_pool_max_ready", p.template(), p.maxReady());
    header(b, "kiln_pool_claims_total", "counter", "Creates served by a ready pool VM since the daemon started.");
    for (WarmPools.Status p : pools) sample(b, "kiln_pool_claims_total", p.template(), p.claims());
    header(b, "kiln_pool_misses_total", "counter", "Creates that found the pool empty since the daemon started.");
    for (WarmPools.Status p : pools) sample(b, "kiln_pool_misses_total", p.template(), p.misses());
    return b.toString();
  }

  private static void header(StringBuilder b, String name, String type, String help) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n').append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  /** Template names are [a-z0-9._-]: nothing in them needs escaping in a label value. */
  private static void sample(StringBuilder b, String name, String template, long value) {
    b.append(name).append("{template=\"").append(template).append("\"} ").append(value).append('\n');
  }
}
