package dev.kiln.api;

import dev.kiln.agent.ExecRequest;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.TemplateService;
import dev.kiln.sandbox.CreateSandbox;
import dev.kiln.sandbox.ExecOutcome;
import dev.kiln.sandbox.Sandbox;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxOperations;
import dev.kiln.sandbox.SandboxState;
import dev.kiln.sandbox.UserResolver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/** /v1/sandboxes: lifecycle, TTL and one-shot exec. */
final class SandboxRoutes {
  /** Command timeout when the request names none: long enough for a package install, short enough to notice a hang. */
  private static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(60);
  private final SandboxManager sandboxes;
  private final SandboxOperations ops;
  private final TemplateService templates;
  private final CommandRequests commands;
  private final SandboxFeed feed;

  SandboxRoutes(SandboxManager sandboxes, SandboxOperations ops, TemplateService templates) {
    this.sandboxes = sandboxes;
    this.ops = ops;
    this.templates = templates;
    this.commands = new CommandRequests(sandboxes, new UserResolver(ops));
    this.feed = new SandboxFeed(sandboxes);
  }

  List<Route> routes() {
    return List.of(
        new Route("POST", "/v1/sandboxes", this::create),
        new Route("GET", "/v1/sandboxes", this::list),
        new Route("GET", "/v1/sandboxes/{id}", this::get),
        new Route("PATCH", "/v1/sandboxes/{id}", this::resize),
        new Route("DELETE", "/v1/sandboxes/{id}", x -> {
          sandboxes.delete(x.path("id"));
          x.noContent();
        }),
        new Route("POST", "/v1/sandboxes/{id}/timeout", this::setTimeout),
        new Route("POST", "/v1/sandboxes/{id}/pause", x -> x.json(200, view(sandboxes.pause(x.path("id"))))),
        new Route("POST", "/v1/sandboxes/{id}/resume", x -> x.json(200, view(sandboxes.resume(x.path("id"))))),
        new Route("POST", "/v1/sandboxes/{id}/stop", x -> x.json(200, view(sandboxes.stop(x.path("id"))))),
        new Route("POST", "/v1/sandboxes/{id}/start", x -> x.json(200, view(sandboxes.start(x.path("id"))))),
        new Route("POST", "/v1/sandboxes/{id}/migrate", this::migrate),
        new Route("POST", "/v1/sandboxes/{id}/exec", this::exec),
        new Route("GET", "/v1/sandboxes/{id}/console", this::console),
        new Route("GET", "/v1/sandboxes/{id}/metrics", x -> x.json(200, usageView(sandboxes.usage(x.path("id"))))),
        new Route("GET", "/v1/sandboxes/{id}/metrics/history", x -> x.json(200, Map.of("samples",
            sandboxes.usageHistory(x.path("id")).stream().map(SandboxRoutes::sampleView).toList()))));
  }

  /** A count the host cannot give (no cgroups, no network) is null, not -1. */
  private static Map<String, Object> usageView(dev.kiln.sandbox.SandboxUsage u) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("id", u.id());
    m.put("state", u.state());
    m.put("at", u.at().toString());
    m.put("cpuSeconds", u.cpuSeconds() < 0 ? null : u.cpuSeconds());
    m.put("memoryBytes", u.memoryBytes() < 0 ? null : u.memoryBytes());
    m.put("memoryLimitBytes", u.memoryLimitBytes() < 0 ? null : u.memoryLimitBytes());
    m.put("diskBytes", u.diskBytes());
    Map<String, Object> net = new java.util.LinkedHashMap<>();
    net.put("rxBytes", u.networkRxBytes() < 0 ? null : u.networkRxBytes());
    net.put("txBytes", u.networkTxBytes() < 0 ? null : u.networkTxBytes());
    m.put("network", net);
    return m;
  }

  /** One sample of the usage history: cumulative counts, from which a reader makes rates. */
  private static Map<String, Object> sampleView(dev.kiln.sandbox.SandboxUsage u) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("at", u.at().toString());
    m.put("cpuSeconds", u.cpuSeconds() < 0 ? null : u.cpuSeconds());
    m.put("memoryBytes", u.memoryBytes() < 0 ? null : u.memoryBytes());
    m.put("diskBytes", u.diskBytes());
    m.put("rxBytes", u.networkRxBytes() < 0 ? null : u.networkRxBytes());
    m.put("txBytes", u.networkTxBytes() < 0 ? null : u.networkTxBytes());
    return m;
  }

  /**
   * The caller's sandboxes (an admin's: all), or those in {@code ?state=}, with {@code ?id=}, whose
   * metadata has every {@code ?metadata.<key>=<value>} given; with {@code ?watch=true}, as a live
   * stream ({@link SandboxFeed}).
   */
  private void list(Exchange x) throws Exception {
    String state = x.query("state");
    if (state != null && java.util.Arrays.stream(SandboxState.values()).noneMatch(s -> s.wire().equals(state))) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "state must be one of " + java.util.Arrays.stream(SandboxState.values()).map(SandboxState::wire).toList());
    }
    Map<String, String> labels = x.queryWithPrefix("metadata.");
    String id = x.query("id");
    java.util.function.Predicate<Sandbox> shown = s -> x.caller().mayUse(s.owner()) && (state == null || s.state().wire().equals(state))
        && (id == null || s.id().equals(id))
        && labels.entrySet().stream().allMatch(l -> l.getValue().equals(s.metadata().get(l.getKey())));
    if (SandboxFeed.wanted(x)) {
      feed.serve(x, shown);
      return;
    }
    x.json(200, Map.of("sandboxes", sandboxes.list().stream().filter(shown).map(SandboxRoutes::view).toList()));
  }

  private void create(Exchange x) throws Exception {
    Bodies.CreateSandbox b = x.body(Bodies.CreateSandbox.class, null);
    if (b.template() == null || b.template().isBlank()) throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'template' is required");
    // Another key's template is, to this key, one that does not exist (an admin sees all: no read on its creates).
    if (!x.caller().admin() && !templates.find(b.template()).map(t -> t.visibleTo(x.caller().keyId(), false)).orElse(true)) {
      throw new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "no template named '" + b.template() + "'");
    }
    requireThisNode(sandboxes, b.node());
    if (b.nodeSelector() != null && !sandboxes.thisNode().matches(b.nodeSelector())) {
      throw new KilnException(ErrorCode.NO_NODE_AVAILABLE, "this daemon's node " + sandboxes.thisNode().name() + " does not carry the labels "
          + new java.util.TreeMap<>(b.nodeSelector()) + " (it has " + new java.util.TreeMap<>(sandboxes.thisNode().labels()) + ")");
    }
    CreateSandbox req = new CreateSandbox(b.template(),
        b.timeoutSeconds() == null ? OptionalLong.empty() : OptionalLong.of(b.timeoutSeconds()),
        b.vcpus() == null ? OptionalInt.empty() : OptionalInt.of(b.vcpus()),
        b.memoryMib() == null ? OptionalInt.empty() : OptionalInt.of(b.memoryMib()),
        b.env(), b.metadata(), Optional.empty(), onTimeout(b.onTimeout()), Optional.ofNullable(b.network()).map(NetworkRoutes::spec),
        b.diskMib() == null ? OptionalLong.empty() : OptionalLong.of(b.diskMib()), Bodies.machine(b.machine()), x.caller().keyId());
    x.audit("template", b.template());
    Sandbox made = sandboxes.create(req);
    x.auditSandbox(made.id());
    x.audit("vcpus", made.vcpus());
    x.audit("memoryMib", made.memoryMib());
    x.audit("network", made.network().spec().mode().name().toLowerCase(java.util.Locale.ROOT));
    x.json(201, view(made));
  }

  /**
   * A request's node selector, where this daemon does the work: on a node, the control plane sent
   * the request here by this very field; on one host it can only name this host.
   */
  static void requireThisNode(SandboxManager sandboxes, String selector) {
    if (selector != null && !sandboxes.thisNode().isNamed(selector)) {
      throw new KilnException(ErrorCode.NODE_NOT_FOUND, "no node with id or name '" + selector + "' here: this daemon is node "
          + sandboxes.thisNode().name() + " (" + sandboxes.thisNode().id() + ")");
    }
  }

  /** Hot-plugs CPUs or memory into a running q35 sandbox. */
  private void resize(Exchange x) throws Exception {
    Bodies.Resize b = x.body(Bodies.Resize.class, null);
    if (b.vcpus() == null && b.memoryMib() == null) throw new KilnException(ErrorCode.INVALID_REQUEST, "give field 'vcpus', 'memoryMib' or both");
    x.json(200, view(sandboxes.resize(x.path("id"), b.vcpus() == null ? OptionalInt.empty() : OptionalInt.of(b.vcpus()),
        b.memoryMib() == null ? OptionalLong.empty() : OptionalLong.of(b.memoryMib()))));
  }

  /** The sandbox, with the live migration under way on its node if there is one (where to, how far). */
  private void get(Exchange x) throws Exception {
    String id = x.path("id");
    Map<String, Object> m = view(sandboxes.get(id));
    sandboxes.migration(id).ifPresent(p -> m.put("migration", Map.of("id", p.migrationId(), "toNode", p.toNode(), "phase", p.phase(),
        "sentBytes", p.sentBytes(), "remainingBytes", p.remainingBytes())));
    x.json(200, m);
  }

  /** Moves a running sandbox to another node, live; answers once it runs there, with what the move cost. */
  private void migrate(Exchange x) throws Exception {
    Bodies.Migrate b = x.body(Bodies.Migrate.class, new Bodies.Migrate(null, null, null));
    var r = sandboxes.migrate(x.path("id"), Optional.ofNullable(b.node()), b.settings());
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("id", r.sandboxId());
    m.put("fromNode", r.fromNode());
    m.put("toNode", r.toNode());
    m.put("tookMs", r.tookMillis());
    if (r.vm() != null) {
      // The guest's: stopped for the last pass until running on the new node with its session back.
      m.put("downtimeMs", Math.round(r.guestDowntimeMillis()));
      m.put("qemuDowntimeMs", r.vm().downtimeMillis());
      m.put("sentBytes", r.vm().bytesSent());
      m.put("passes", r.vm().passes());
    }
    m.put("groupMoved", r.groupMoved());
    x.json(200, m);
  }

  private static CreateSandbox.OnTimeout onTimeout(String s) {
    if (s == null) return CreateSandbox.OnTimeout.DELETE;
    return switch (s) {
      case "delete" -> CreateSandbox.OnTimeout.DELETE;
      case "pause" -> CreateSandbox.OnTimeout.PAUSE;
      default -> throw new KilnException(ErrorCode.INVALID_REQUEST, "onTimeout must be \"delete\" or \"pause\", got \"" + s + "\"");
    };
  }

  /** The guest console's last bytes (64 KiB unless {@code ?bytes=}, at most 1 MiB), as the guest wrote them. */
  private void console(Exchange x) throws Exception {
    String q = x.query("bytes");
    int max;
    try {
      max = q == null ? 64 * 1024 : Integer.parseInt(q);
    } catch (NumberFormatException e) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "bytes must be a number, got '" + q + "'");
    }
    if (max < 1 || max > 1 << 20) throw new KilnException(ErrorCode.INVALID_REQUEST, "bytes must be 1..1048576");
    byte[] tail = sandboxes.console(x.path("id"), max);
    try (java.io.OutputStream out = x.rawOutput(200, "text/plain; charset=utf-8")) {
      out.write(tail);
    }
  }

  private void setTimeout(Exchange x) throws Exception {
    Bodies.SetTimeout b = x.body(Bodies.SetTimeout.class, null);
    if (b.timeoutSeconds() == null) throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'timeoutSeconds' is required");
    x.json(200, view(sandboxes.setTimeout(x.path("id"), b.timeoutSeconds())));
  }

  private void exec(Exchange x) throws Exception {
    String id = x.path("id");
    Bodies.Exec b = x.body(Bodies.Exec.class, null);
    ExecRequest req = commands.from(id, b.argv(), b.command(), b.env(), b.cwd(), b.user(), b.timeoutSeconds(), DEFAULT_COMMAND_TIMEOUT, false, Optional.empty(), false);
    CommandRequests.audit(x, req);
    ExecOutcome o = ops.exec(id, req);
    x.audit("exitCode", o.exitCode());
    if (o.signal() != 0) x.audit("signal", o.signal());
    x.audit("timedOut", o.timedOut());
    x.audit("durationMs", o.duration().toMillis());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("exitCode", o.exitCode());
    if (o.signal() != 0) out.put("signal", o.signal());
    out.put("timedOut", o.timedOut());
    out.put("stdout", new String(o.stdout(), StandardCharsets.UTF_8));
    out.put("stderr", new String(o.stderr(), StandardCharsets.UTF_8));
    if (o.stdoutTruncated()) out.put("stdoutTruncated", true);
    if (o.stderrTruncated()) out.put("stderrTruncated", true);
    out.put("durationMs", o.duration().toMillis());
    out.put("cpuMs", o.cpu().toMillis());
    out.put("peakRssKib", o.peakRssKib());
    x.json(200, out);
  }

  static Map<String, Object> view(Sandbox s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", s.id());
    // A sandbox whose node is down keeps its state in the store, for when the node is back; until then nothing reaches it.
    m.put("status", s.lost() ? "lost" : s.state().wire());
    if (!s.node().isEmpty()) m.put("node", s.node());
    m.put("template", s.template());
    m.put("vcpus", s.vcpus());
    m.put("memoryMib", s.memoryMib());
    s.diskMib().ifPresent(d -> m.put("diskMib", d));
    s.machine().ifPresent(mc -> m.put("machine", mc));
    m.put("timeoutSeconds", s.timeoutSeconds());
    m.put("metadata", s.metadata());
    m.put("createdAt", s.createdAt().toString());
    m.put("expiresAt", s.expiresAt().map(Object::toString).orElse(null));
    s.error().ifPresent(e -> m.put("error", e));
    s.startedFrom().ifPresent(f -> m.put("startedFrom", f));
    m.put("onTimeout", s.onTimeout());
    m.put("network", NetworkRoutes.view(s.network()));
    return m;
  }
}
