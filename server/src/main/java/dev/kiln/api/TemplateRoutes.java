package dev.kiln.api;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.BuildLog;
import dev.kiln.image.BuildOptions;
import dev.kiln.image.DockerfileBuilder;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateBuild;
import dev.kiln.image.TemplateService;
import dev.kiln.image.TemplateSource;
import dev.kiln.image.oci.Credentials;
import dev.kiln.sandbox.SandboxManager;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** /v1/templates: build from an OCI image, a directory or a Dockerfile (in the background), list, get, logs, build record, delete. */
final class TemplateRoutes {
  /** Free space in a new template's root filesystem when the request names none. */
  static final long DEFAULT_FREE_SPACE_MIB = 512;
  private final TemplateService templates;
  private final SandboxManager sandboxes;

  TemplateRoutes(TemplateService templates, SandboxManager sandboxes) {
    this.templates = templates;
    this.sandboxes = sandboxes;
  }

  List<Route> routes() {
    return List.of(
        new Route("POST", "/v1/templates", this::build),
        new Route("GET", "/v1/templates", x -> x.json(200, Map.of("templates", templates.list().stream()
            .filter(t -> t.visibleTo(x.caller().keyId(), x.caller().admin())).map(this::view).toList()))),
        new Route("GET", "/v1/templates/{name}", x -> x.json(200, view(get(x.path("name"))))),
        new Route("GET", "/v1/templates/{name}/logs", this::logs),
        new Route("GET", "/v1/templates/{name}/build", x -> x.json(200, builder().record(get(x.path("name")).name())
            .orElseThrow(() -> new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "template '" + x.path("name") + "' was not built from a Dockerfile")))),
        new Route("GET", "/v1/templates/{name}/versions", x -> x.json(200, Map.of("versions", versions(get(x.path("name")).name())))),
        new Route("POST", "/v1/templates/{name}/versions/{version}/pin", x -> pin(x, true)),
        new Route("DELETE", "/v1/templates/{name}/versions/{version}/pin", x -> pin(x, false)),
        new Route("POST", "/v1/templates/{name}/snapshot", x -> x.json(200, sandboxes.snapshot(x.path("name")))),
        new Route("DELETE", "/v1/templates/{name}", x -> {
          templates.delete(x.path("name"));
          x.noContent();
        }));
  }

  private Template get(String name) {
    return templates.find(name).orElseThrow(() -> new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "no template named '" + name + "'"));
  }

  private List<Map<String, Object>> versions(String name) {
    List<dev.kiln.store.TemplateRepository.Version> versions = templates.versions(name);
    int latest = versions.isEmpty() ? 0 : versions.getFirst().version(); // newest first
    return versions.stream().map(v -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("version", v.version());
      m.put("ref", name + ":" + v.version());
      m.put("latest", v.version() == latest);
      m.put("pinned", v.pinned());
      m.put("source", v.row().source());
      m.put("sizeBytes", v.row().rootfsBytes().isPresent() ? v.row().rootfsBytes().getAsLong() : null);
      v.row().imageDigest().ifPresent(d -> m.put("imageDigest", d));
      m.put("createdAt", v.row().createdAt().toString());
      return m;
    }).toList();
  }

  private void pin(Exchange x, boolean pinned) throws Exception {
    String ref = get(x.path("name")).name() + ":" + x.path("version");
    templates.pin(ref, pinned);
    x.noContent();
  }

  private DockerfileBuilder builder() {
    return templates.dockerfiles().orElseThrow(() -> new KilnException(ErrorCode.INVALID_REQUEST, "this daemon does not build Dockerfiles"));
  }

  /** A tar body is a Dockerfile build's context; its settings come in the query. */
  private static boolean isContext(String contentType) {
    if (contentType == null) return false;
    String t = contentType.toLowerCase(java.util.Locale.ROOT);
    return t.startsWith("application/x-tar") || t.startsWith("application/gzip") || t.startsWith("application/x-gzip");
  }

  private void buildDockerfile(Exchange x) throws Exception {
    String name = Template.validName(x.requiredQuery("name"));
    Map<String, String> args = new LinkedHashMap<>();
    for (String a : x.queryAll("build-arg")) {
      int eq = a.indexOf('=');
      if (eq <= 0) throw new KilnException(ErrorCode.INVALID_REQUEST, "query parameter 'build-arg' must be NAME=VALUE, got '" + a + "'");
      args.put(a.substring(0, eq), a.substring(eq + 1));
    }
    String network = Optional.ofNullable(x.query("network")).orElse("internet");
    if (!network.equals("internet") && !network.equals("none")) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "query parameter 'network' must be internet or none, got '" + network + "'");
    }
    BuildOptions options = new BuildOptions(intQuery(x, "vcpus", 1, 64), intQuery(x, "memoryMib", 128, 1 << 20), longQuery(x, "diskMib", 64, 1 << 20),
        network.equals("internet"), Optional.ofNullable(x.query("start")), Optional.ofNullable(x.query("readyCommand")), intQuery(x, "readyPort", 1, 65535),
        intQuery(x, "readyTimeoutSeconds", 1, 3600));
    String owner = x.caller().admin() ? TemplateService.OPERATOR : x.caller().keyId();
    // A context refused before its end (too large, not a tar, an entry out of bounds) leaves the rest for the error's drain.
    TemplateSource.Dockerfile source = builder().receive(x.bodyStream(), Optional.ofNullable(x.query("dockerfile")).orElse("Dockerfile"), args, options);
    x.json(202, view(templates.submit(name, source, 0, Bodies.machine(x.query("machine")), owner)));
  }

  private static java.util.OptionalLong longQuery(Exchange x, String name, long min, long max) {
    String v = x.query(name);
    if (v == null) return java.util.OptionalLong.empty();
    long n;
    try {
      n = Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "query parameter '" + name + "' must be a number, got '" + v + "'");
    }
    if (n < min || n > max) throw new KilnException(ErrorCode.INVALID_REQUEST, "query parameter '" + name + "' must be " + min + ".." + max + ", got " + n);
    return java.util.OptionalLong.of(n);
  }

  private static java.util.OptionalInt intQuery(Exchange x, String name, int min, int max) {
    java.util.OptionalLong v = longQuery(x, name, min, max);
    return v.isEmpty() ? java.util.OptionalInt.empty() : java.util.OptionalInt.of((int) v.getAsLong());
  }

  private void build(Exchange x) throws Exception {
    if (isContext(x.header("Content-Type"))) {
      buildDockerfile(x);
      return;
    }
    Bodies.BuildTemplate b = x.body(Bodies.BuildTemplate.class, null);
    if (b.name() == null) throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'name' is required");
    if ((b.image() == null) == (b.directory() == null)) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "give exactly one of 'image' (e.g. python:3.12-slim or oci:/path:tag) and 'directory'");
    }
    Optional<Credentials> creds = Optional.ofNullable(b.credentials()).map(c -> new Credentials(c.username(), c.password()));
    TemplateSource source = b.directory() != null ? new TemplateSource.Directory(Path.of(b.directory())) : TemplateSource.parse(b.image(), creds);
    boolean admin = x.caller().admin();
    // A directory or an OCI layout is read from the daemon's host as root: a user key could make any host file its sandbox's.
    if (!admin && !(source instanceof TemplateSource.Image)) {
      throw new KilnException(ErrorCode.FORBIDDEN, "only an admin key may build from the daemon's host (a directory or an oci: layout); "
          + "build from a registry image instead");
    }
    long free = b.freeSpaceMib() == null ? DEFAULT_FREE_SPACE_MIB : b.freeSpaceMib();
    // An admin's template is the operator's, shared with every key; a user's is its own.
    String owner = admin ? TemplateService.OPERATOR : x.caller().keyId();
    x.json(202, view(templates.submit(b.name(), source, free, Bodies.machine(b.machine()), owner)));
  }

  /** The build log as text; while the build runs, the response follows it to the end. */
  private void logs(Exchange x) throws Exception {
    Template t = get(x.path("name"));
    Optional<TemplateBuild> active = templates.activeBuild(t.name());
    try (OutputStream out = x.rawOutput(200, "text/plain; charset=utf-8")) {
      if (active.isEmpty()) {
        Path file = templates.buildLogFile(t.name());
        if (Files.exists(file)) Files.copy(file, out);
        return;
      }
      BuildLog log = active.get().log();
      int next = 0;
      while (true) {
        List<String> lines = log.next(next, Duration.ofSeconds(1));
        for (String l : lines) out.write((l + "\n").getBytes(StandardCharsets.UTF_8));
        if (!lines.isEmpty()) out.flush();
        next += lines.size();
        if (lines.isEmpty() && log.isClosed()) return;
      }
    }
  }

  Map<String, Object> view(Template t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", t.name());
    m.put("version", t.version() == 0 ? null : t.version());
    m.put("status", t.status().name().toLowerCase());
    m.put("source", t.source());
    m.put("sizeBytes", t.rootfsBytes().isPresent() ? t.rootfsBytes().getAsLong() : null);
    m.put("freeSpaceMib", t.freeSpaceMib());
    m.put("machine", t.machine().wire());
    t.imageDigest().ifPresent(d -> m.put("imageDigest", d));
    var c = t.config();
    m.put("config", Map.of("env", c.env(), "entrypoint", c.entrypoint(), "cmd", c.cmd(), "workingDir", c.workingDir(), "user", c.user()));
    var r = t.runtime();
    if (!r.equals(dev.kiln.image.TemplateRuntime.NONE)) {
      Map<String, Object> rm = new LinkedHashMap<>();
      rm.put("start", r.start());
      rm.put("readyCommand", r.readyCommand());
      rm.put("readyPort", r.portToCheck() == 0 ? null : r.portToCheck());
      rm.put("readyTimeoutSeconds", r.readyTimeout().toSeconds());
      rm.put("exposedPorts", r.exposedPorts());
      rm.put("vcpus", r.vcpus() == 0 ? null : r.vcpus());
      rm.put("memoryMib", r.memoryMib() == 0 ? null : r.memoryMib());
      m.put("runtime", rm);
    }
    m.put("createdAt", t.createdAt().toString());
    m.put("updatedAt", t.updatedAt().toString());
    t.error().ifPresent(e -> m.put("error", e));
    templates.activeBuild(t.name()).ifPresent(b -> m.put("progress", b.progressView()));
    sandboxes.snapshotOf(t).ifPresent(s -> m.put("snapshot", Map.of("machine", s.machineOf().wire(), "vcpus", s.vcpus(), "memoryMib", s.memoryMib(),
        "stateBytes", s.stateBytes())));
    return m;
  }
}
