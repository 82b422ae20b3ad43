package dev.kiln.api;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.BuildLog;
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

/** /v1/templates: build from an OCI image or a directory (in the background), list, get, logs, delete. */
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
        new Route("POST", "/v1/templates/{name}/snapshot", x -> x.json(200, sandboxes.snapshot(x.path("name")))),
        new Route("DELETE", "/v1/templates/{name}", x -> {
          templates.delete(x.path("name"));
          x.noContent();
        }));
  }

  private Template get(String name) {
    return templates.find(name).orElseThrow(() -> new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "no template named '" + name + "'"));
  }

  private void build(Exchange x) throws Exception {
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
    m.put("status", t.status().name().toLowerCase());
    m.put("source", t.source());
    m.put("sizeBytes", t.rootfsBytes().isPresent() ? t.rootfsBytes().getAsLong() : null);
    m.put("freeSpaceMib", t.freeSpaceMib());
    m.put("machine", t.machine().wire());
    t.imageDigest().ifPresent(d -> m.put("imageDigest", d));
    var c = t.config();
    m.put("config", Map.of("env", c.env(), "entrypoint", c.entrypoint(), "cmd", c.cmd(), "workingDir", c.workingDir(), "user", c.user()));
    m.put("createdAt", t.createdAt().toString());
    m.put("updatedAt", t.updatedAt().toString());
    t.error().ifPresent(e -> m.put("error", e));
    templates.activeBuild(t.name()).ifPresent(b -> m.put("progress", b.progressView()));
    sandboxes.snapshotOf(t).ifPresent(s -> m.put("snapshot", Map.of("machine", s.machineOf().wire(), "vcpus", s.vcpus(), "memoryMib", s.memoryMib(),
        "stateBytes", s.stateBytes())));
    return m;
  }
}
