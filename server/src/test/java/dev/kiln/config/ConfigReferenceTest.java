package dev.kiln.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/config.md is what the config records generate, and what it says about each key is what
 * the records do: every key described, ranges enforced at both ends, listed values accepted.
 */
class ConfigReferenceTest {
  private static final Path PUBLISHED = Path.of(System.getProperty("kiln.repo", ".."), "docs", "config.md");
  static final String REGENERATE = "mvn -B -pl server -am -Dtest=ConfigReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -Dkiln.regenerate=true verify";
  private static final Pattern INTERVAL = Pattern.compile("(-?\\d+)\\.\\.(-?\\d+)");
  private static final Pattern AT_LEAST = Pattern.compile(">= ?(-?\\d+)");
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  @Test
  void thePublishedReferenceIsWhatTheRecordsGenerate() throws Exception {
    String generated = ConfigReference.markdown();
    if (Boolean.getBoolean("kiln.regenerate")) {
      Files.writeString(PUBLISHED, generated, StandardCharsets.UTF_8);
      return;
    }
    String published = Files.exists(PUBLISHED) ? Files.readString(PUBLISHED, StandardCharsets.UTF_8) : "";
    assertEquals(generated, published, "docs/config.md is not what the config records say; regenerate it with\n  " + REGENERATE + "\n");
  }

  @Test
  void everyKeyHasAOneLineDescription() {
    var keys = ConfigReference.keys();
    assertTrue(keys.size() > 20, "walked the tree: " + keys);
    for (var k : keys) {
      String d = k.doc().value();
      assertFalse(d.isBlank() || d.contains("\n") || d.contains("|"), k.name() + ": one line, no table bar: " + d);
    }
  }

  record Sample(@ConfigDoc("documented") int a, int b) {}

  @Test
  void aKeyWithoutADescriptionIsAnErrorNamingIt() {
    var e = assertThrows(IllegalStateException.class, () -> ConfigReference.keys(Sample.class, new Sample(1, 2)));
    assertTrue(e.getMessage().startsWith("config key b (Sample.b) has no @ConfigDoc"), e.getMessage());
  }

  @Test
  void everyNumericRangeIsTheOneTheRecordsEnforce() throws Exception {
    int checked = 0;
    for (var k : ConfigReference.keys()) {
      Matcher in = INTERVAL.matcher(k.doc().range());
      Matcher least = AT_LEAST.matcher(k.doc().range());
      if (in.matches()) {
        long min = Long.parseLong(in.group(1));
        long max = Long.parseLong(in.group(2));
        accepted(k.name(), min);
        accepted(k.name(), max);
        rejected(k.name(), max + 1);
        // 0 is "not given" for a primitive key (its default), so only a lower bound above 1 is checked from below.
        if (min - 1 != 0) rejected(k.name(), min - 1);
      } else if (least.matches()) {
        long min = Long.parseLong(least.group(1));
        accepted(k.name(), min);
        if (min - 1 != 0) rejected(k.name(), min - 1);
      } else {
        continue;
      }
      checked++;
    }
    assertTrue(checked >= 7, "checked " + checked + " ranges");
  }

  @Test
  void listedValuesAreAcceptedAndOthersAreNot() throws Exception {
    int checked = 0;
    for (var k : ConfigReference.keys()) {
      if (k.values().isEmpty()) continue;
      for (String v : k.values()) accepted(k.name(), v);
      rejected(k.name(), "no-such-value");
      checked++;
    }
    assertTrue(checked >= 2, "checked " + checked + " keys with listed values");
  }

  /** A config with {@code key} set to {@code value} and every other key as it defaults (a nested object given whole). */
  private Path config(String key, Object value) throws Exception {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode node = root;
    Object defaults = KilnConfig.defaults();
    String[] parts = key.split("\\.");
    for (int i = 0; i < parts.length - 1; i++) {
      defaults = defaults.getClass().getMethod(parts[i]).invoke(defaults);
      ObjectNode child = JSON.valueToTree(defaults);
      node.set(parts[i], child);
      node = child;
    }
    node.set(parts[parts.length - 1], JSON.valueToTree(value));
    return Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(root));
  }

  private static Object read(Object config, String key) throws Exception {
    for (String part : key.split("\\.")) config = config.getClass().getMethod(part).invoke(config);
    return config;
  }

  private void accepted(String key, Object value) throws Exception {
    KilnConfig c;
    try {
      c = KilnConfig.load(config(key, value));
    } catch (Exception e) {
      fail(key + " = " + value + " is documented as allowed but refused: " + e.getMessage());
      return;
    }
    assertEquals(String.valueOf(value), String.valueOf(read(c, key)), key + " read back");
  }

  private void rejected(String key, Object value) throws Exception {
    Path f = config(key, value);
    Exception e = assertThrows(Exception.class, () -> KilnConfig.load(f), key + " = " + value + " is outside the documented range but accepted");
    String leaf = key.substring(key.lastIndexOf('.') + 1);
    assertTrue(String.valueOf(e.getMessage()).contains(leaf), "the error names " + leaf + ": " + e.getMessage());
  }
}
