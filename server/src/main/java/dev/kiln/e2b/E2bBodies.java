package dev.kiln.e2b;

import dev.kiln.api.Exchange;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The request bodies of E2B's control-plane API, read leniently as its SDK writes them (only the keys it sets). */
final class E2bBodies {
  private E2bBodies() {}

  /** NewSandbox (v1 and v2): what a create may say. */
  record Create(String templateId, Optional<Long> timeout, Map<String, String> envVars, Map<String, String> metadata, boolean autoPause,
      Optional<Boolean> allowInternetAccess, Optional<List<String>> allowOut, Optional<List<String>> denyOut, boolean publicTraffic) {}

  /** The bodies of connect, resume, timeout and refreshes: each field only if set. */
  record Options(Optional<Long> timeout, Optional<Long> duration) {}

  static Create create(Exchange x) throws IOException {
    ProtoJson b = ProtoJson.parse(x.jsonBytes(), "the body");
    String template = b.string("templateID", "");
    if (template.isEmpty()) throw ProtoJson.invalid("field 'templateID' is required (the name of a Kiln template)");
    for (String refused : List.of("mcp", "volumeMounts", "iam")) {
      if (b.has(refused)) throw ProtoJson.invalid("field '" + refused + "' is not supported by Kiln's E2B API (docs/e2b.md)");
    }
    Optional<ProtoJson> network = b.message("network");
    if (network.isPresent()) {
      for (String refused : List.of("egressProxy", "rules", "maskRequestHost", "httpsPorts")) {
        if (network.get().has(refused)) throw ProtoJson.invalid("field 'network." + refused + "' is not supported by Kiln's E2B API (docs/e2b.md)");
      }
    }
    return new Create(template, seconds(b, "timeout"), b.stringMap("envVars"), b.stringMap("metadata"), b.bool("autoPause"),
        b.has("allow_internet_access") ? Optional.of(b.bool("allow_internet_access")) : Optional.empty(),
        network.filter(n -> n.has("allowOut")).map(n -> n.strings("allowOut")), network.filter(n -> n.has("denyOut")).map(n -> n.strings("denyOut")),
        network.map(n -> n.bool("allowPublicTraffic")).orElse(false));
  }

  static Options read(Exchange x) throws IOException {
    ProtoJson b = ProtoJson.parse(x.jsonBytes(), "the body");
    return new Options(seconds(b, "timeout"), seconds(b, "duration"));
  }

  private static Optional<Long> seconds(ProtoJson b, String field) {
    long v = b.uint32(field, -1);
    return v < 0 ? Optional.empty() : Optional.of(v);
  }
}
