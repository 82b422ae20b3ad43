package dev.kiln.api;

import dev.kiln.access.Caller;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.TemplateService;
import dev.kiln.sandbox.SandboxId;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.TemplateRepository;
import java.util.Optional;

/**
 * What a caller's role lets it reach, checked before any route runs (docs/adr/0022): the routes
 * that manage the host, the cluster or other keys are an admin's; a user key reaches only its own
 * sandboxes, and its own and the operator's templates. Another key's sandbox or template is
 * answered as an unknown one, so that ids and names tell a key nothing about what others have.
 * Lists and creates are the routes' own (they know the caller from the exchange).
 */
public final class RouteAccess {
  private final SandboxRepository sandboxes;
  private final TemplateRepository templates;

  public RouteAccess(SandboxRepository sandboxes, TemplateRepository templates) {
    this.sandboxes = sandboxes;
    this.templates = templates;
  }

  void check(Route route, Exchange x, Caller caller) {
    if (caller.admin()) return;
    String t = route.template();
    if (adminOnly(t)) throw new KilnException(ErrorCode.FORBIDDEN, route.method() + " " + t + " needs an admin key; this key is a user's");
    if (t.startsWith("/v1/sandboxes/{id}")) {
      String id = x.path("id");
      Optional<String> owner = sandboxes.ownerOf(id);
      if (owner.isPresent() && !caller.mayUse(owner.get())) throw SandboxId.notFound(id);
    } else if (t.startsWith("/v1/templates/{name}")) {
      checkTemplate(route, x.path("name"), caller);
    }
  }

  private void checkTemplate(Route route, String name, Caller caller) {
    // NAME:VERSION is a version of NAME, whose owner decides.
    int colon = name == null ? -1 : name.lastIndexOf(':');
    Optional<String> owner = templates.find(colon < 0 ? name : name.substring(0, colon)).map(r -> r.owner());
    if (owner.isEmpty()) return;
    boolean operators = owner.get().equals(TemplateService.OPERATOR);
    if (!operators && !caller.mayUse(owner.get())) throw new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "no template named '" + name + "'");
    if (operators && !route.method().equals("GET")) {
      throw new KilnException(ErrorCode.FORBIDDEN, "template '" + name + "' is the operator's: every key may use it, only an admin key may change it");
    }
  }

  private static boolean adminOnly(String template) {
    return template.equals("/metrics") || template.equals("/v1/cluster") || template.startsWith("/v1/nodes") || template.startsWith("/v1/pools")
        || template.startsWith("/v1/keys") || template.startsWith("/v1/audit") || template.equals("/v1/sandboxes/{id}/migrate");
  }
}
