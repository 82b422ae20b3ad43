package dev.kiln.api;

import dev.kiln.sandbox.Sandbox;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxState;
import dev.kiln.sandbox.SandboxUsage;
import dev.kiln.sandbox.WarmPools;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.Map;

/** GET /metrics in the Prometheus text format: sandboxes by state, the warm pools, and each sandbox's usage. */
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
    sandboxUsage(b, sandboxes.usages());
    return b.toString();
  }

  /** Per sandbox, from its control group, files and link; a count the host cannot give is left out. */
  private static void sandboxUsage(StringBuilder b, java.util.List<SandboxUsage> all) {
    record Series(String name, String type, String help, java.util.function.ToDoubleFunction<SandboxUsage> value) {}
    for (Series s : java.util.List.of(
        new Series("kiln_sandbox_cpu_seconds_total", "counter", "CPU time the sandbox's VM used on the host.", SandboxUsage::cpuSeconds),
        new Series("kiln_sandbox_memory_bytes", "gauge", "Host memory the sandbox's VM uses (its control group).", u -> u.memoryBytes()),
        new Series("kiln_sandbox_memory_limit_bytes", "gauge", "The sandbox VM's memory limit: its RAM plus QEMU's bounded overhead.", u -> u.memoryLimitBytes()),
        new Series("kiln_sandbox_disk_bytes", "gauge", "Host disk the sandbox holds: its layers, checkpoint states and paused state (what its disk quota counts).", u -> u.diskBytes()),
        new Series("kiln_sandbox_network_receive_bytes_total", "counter", "Bytes the sandbox received.", u -> u.networkRxBytes()),
        new Series("kiln_sandbox_network_transmit_bytes_total", "counter", "Bytes the sandbox sent.", u -> u.networkTxBytes()))) {
      header(b, s.name(), s.type(), s.help());
      for (SandboxUsage u : all) {
        double v = s.value().applyAsDouble(u);
        // Sandbox ids are [a-z0-9-]: nothing in them needs escaping in a label value.
        if (v >= 0) b.append(s.name()).append("{sandbox=\"").append(u.id()).append("\"} ").append(v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v)).append('\n');
      }
    }
  }

  private static void header(StringBuilder b, String name, String type, String help) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n').append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  /** Template names are [a-z0-9._-]: nothing in them needs escaping in a label value. */
  private static void sample(StringBuilder b, String name, String template, long value) {
    b.append(name).append("{template=\"").append(template).append("\"} ").append(value).append('\n');
  }
}
