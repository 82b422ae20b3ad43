package dev.kiln.api;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateService;
import dev.kiln.image.TemplateSource;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** /v1/templates: build from a directory on the daemon's host, list, get, delete. */
final class TemplateRoutes {
  /** Free space in a new template's root filesystem when the request names none. */
  static final long DEFAULT_FREE_SPACE_MIB = 512;
  private final TemplateService templates;

  TemplateRoutes(TemplateService templates) {
    this.templates = templates;
  }

  List<Route> routes() {
    return List.of(
        new Route("POST", "/v1/templates", this::build),
        new Route("GET", "/v1/templates", x -> x.json(200, Map.of("templates", templates.list().stream().map(TemplateRoutes::view).toList()))),
        new Route("GET", "/v1/templates/{name}", x -> x.json(200, view(templates.find(x.path("name"))
            .orElseThrow(() -> new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "no template named '" + x.path("name") + "'"))))),
        new Route("DELETE", "/v1/templates/{name}", x -> {
          templates.delete(x.path("name"));
          x.noContent();
        }));
  }

  private void build(Exchange x) throws Exception {
    Bodies.BuildTemplate b = x.body(Bodies.BuildTemplate.class, null);
    if (b.name() == null) throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'name' is required");
    if (b.directory() == null) throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'directory' is required (OCI images are not supported yet)");
    long free = b.freeSpaceMib() == null ? DEFAULT_FREE_SPACE_MIB : b.freeSpaceMib();
    x.json(201, view(templates.build(b.name(), new TemplateSource.Directory(Path.of(b.directory())), free)));
  }

  static Map<String, Object> view(Template t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", t.name());
    m.put("status", t.status().name().toLowerCase());
    m.put("source", t.source());
    m.put("sizeBytes", t.rootfsBytes().isPresent() ? t.rootfsBytes().getAsLong() : null);
    m.put("createdAt", t.createdAt().toString());
    m.put("updatedAt", t.updatedAt().toString());
    t.error().ifPresent(e -> m.put("error", e));
    return m;
  }
}
