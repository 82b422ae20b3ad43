package dev.kiln.config;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The daemon's config reference, docs/config.md, generated from the record tree: every key's
 * JSON name, type and default come from the records themselves ({@link KilnConfig#defaults()}),
 * its description and range from its {@link ConfigDoc}. A key added to a record shows up here
 * with nothing else to do, and one without a {@code @ConfigDoc} is an error.
 */
public final class ConfigReference {
  /** One key: {@code network.dnsPort}. {@code section} is true for a nested record (a table of its own). */
  public record Key(String name, RecordComponent component, ConfigDoc doc, Object defaultValue, boolean section) {
    public String type() {
      return typeName(component.getGenericType());
    }

    /** The values an enum or a {@link ConfigDoc#values()} key accepts, else empty. */
    public List<String> values() {
      if (component.getType().isEnum()) return Arrays.stream(component.getType().getEnumConstants()).map(e -> ((Enum<?>) e).name()).toList();
      return List.of(doc.values());
    }
  }

  private ConfigReference() {}

  /** Every key of the tree, depth first, in declaration order; nested records as a section key followed by their own. */
  public static List<Key> keys() {
    return keys(KilnConfig.class, KilnConfig.defaults());
  }

  static List<Key> keys(Class<? extends Record> root, Record defaults) {
    List<Key> out = new ArrayList<>();
    walk(root, defaults, "", out);
    return out;
  }

  private static void walk(Class<?> record, Object defaults, String prefix, List<Key> out) {
    for (RecordComponent c : record.getRecordComponents()) {
      String name = prefix + c.getName();
      ConfigDoc doc = c.getAnnotation(ConfigDoc.class);
      if (doc == null) {
        throw new IllegalStateException("config key " + name + " (" + record.getSimpleName() + "." + c.getName()
            + ") has no @ConfigDoc: say in one line what it controls, and its range, on the record component");
      }
      Object value;
      try {
        value = c.getAccessor().invoke(defaults);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("cannot read the default of " + name, e);
      }
      boolean nested = c.getType().isRecord();
      out.add(new Key(name, c, doc, value, nested));
      if (nested) walk(c.getType(), value, name + ".", out);
    }
  }

  static String typeName(Type t) {
    if (t instanceof ParameterizedType p && p.getRawType() == List.class) return "list of " + typeName(p.getActualTypeArguments()[0]) + "s";
    if (!(t instanceof Class<?> c)) return t.getTypeName();
    if (c == String.class) return "string";
    if (c == Path.class) return "path";
    if (c == int.class || c == Integer.class || c == long.class || c == Long.class) return "integer";
    if (c == boolean.class || c == Boolean.class) return "boolean";
    if (c.isEnum()) return "enum";
    if (c.isRecord()) return "object";
    return c.getSimpleName();
  }

  private static String defaultText(Key k) {
    if (!k.doc().defaultText().isEmpty()) return k.doc().defaultText();
    Object v = k.defaultValue();
    if (v == null) return "none";
    if (v instanceof List<?> l) return l.isEmpty() ? "`[]`" : "`" + l.stream().map(o -> "\"" + o + "\"").collect(Collectors.joining(", ", "[", "]")) + "`";
    if (v instanceof String s) return "`\"" + s + "\"`";
    return "`" + v + "`";
  }

  private static String allowed(Key k) {
    if (!k.values().isEmpty()) return k.values().stream().map(v -> "`" + v + "`").collect(Collectors.joining(", "));
    return k.doc().range().replace("..", " .. ");
  }

  /** docs/config.md. */
  public static String markdown() {
    StringBuilder md = new StringBuilder("""
        # Daemon configuration

        <!-- Generated from the config records (server/src/main/java/dev/kiln/config, @ConfigDoc on each
             component) by ConfigReference; do not edit. Regenerate with
             mvn -B -pl server -am -Dtest=ConfigReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -Dkiln.regenerate=true verify -->

        `kiln daemon --config FILE` reads one JSON object. Every key may be left out unless its table says
        otherwise (an empty object, or no file at all, is the defaults below); a key the daemon does not
        know is an error that names it, so a typo never falls back to a default silently. A nested
        object (`network`, `sandboxDefaults`) is given as an object. `--data-dir`, `--listen`,
        `--guest-artifacts` and `--dev` override the file.

        ```json
        {"dataDir": "/srv/kiln", "network": {"defaultMode": "internet", "prewarmed": 4}}
        ```
        """);
    List<Key> keys = keys();
    md.append("\n## Top level\n\n");
    table(md, keys, "");
    for (Key s : keys) {
      if (!s.section()) continue;
      md.append("\n## `").append(s.name()).append("`\n\n").append(s.doc().value()).append(".\n\n");
      table(md, keys, s.name());
    }
    return md.toString();
  }

  /** The keys directly under {@code parent}; a nested record is a row that points to its own table. */
  private static void table(StringBuilder md, List<Key> keys, String parent) {
    header(md);
    for (Key k : keys) {
      int dot = k.name().lastIndexOf('.');
      if (!(dot < 0 ? "" : k.name().substring(0, dot)).equals(parent)) continue;
      String description = k.section() ? k.doc().value() + ": [its keys](#" + k.name().toLowerCase(java.util.Locale.ROOT).replace(".", "") + ")" : k.doc().value();
      md.append("| `").append(k.name()).append("` | ").append(k.type()).append(" | ").append(k.section() ? "" : defaultText(k)).append(" | ")
          .append(allowed(k)).append(" | ").append(description).append(" |\n");
    }
  }

  private static void header(StringBuilder md) {
    md.append("| key | type | default | allowed | description |\n|---|---|---|---|---|\n");
  }
}
