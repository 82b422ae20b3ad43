package dev.kiln.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every kind of bad JSON is described by field path, expected and actual value, and never by a Java name. */
class StrictJsonTest {
  /** What must never reach a user: a Java package-qualified name, or an exception's class name. */
  static final Pattern JAVA_NAME = Pattern.compile("\\b(java|javax|dev\\.kiln|com\\.fasterxml|org\\.eclipse)\\.[a-z]|Exception\\b|\\$[A-Z]");
  private static final ObjectMapper JSON = StrictJson.builder().build();

  record Net(String mode, List<String> allowOut, Integer egressMbit, Boolean isPublic) {}

  record Body(String template, Long timeoutSeconds, Integer vcpus, Map<String, String> env, Net network, List<String> argv) {}

  record Checked(int size) {
    Checked {
      if (size < 1) throw new IllegalArgumentException("size must be at least 1, got " + size);
    }
  }

  enum Mode { AUTO, KVM }

  record WithEnum(Mode mode) {}

  private static JsonInputException fail(String json) {
    return fail(json, Body.class);
  }

  private static JsonInputException fail(String json, Class<?> type) {
    JsonInputException e = assertThrows(JsonInputException.class, () -> StrictJson.read(JSON, json.getBytes(StandardCharsets.UTF_8), type));
    String said = e.describe("the body", "field", "");
    assertFalse(JAVA_NAME.matcher(said).find(), said);
    return e;
  }

  private static void says(String json, String expected) {
    assertEquals(expected, fail(json).describe("the body", "field", ""));
  }

  @Test
  void wrongTypesNameTheFieldWhatWasExpectedAndWhatCame() {
    says("{\"template\":5}", "field 'template' must be a string, got a number (5)");
    says("{\"vcpus\":\"two\"}", "field 'vcpus' must be an integer, got a string (\"two\")");
    says("{\"vcpus\":\"2\"}", "field 'vcpus' must be an integer, got a string (\"2\")");
    says("{\"vcpus\":1.5}", "field 'vcpus' must be an integer, got a number with a fraction (1.5)");
    says("{\"vcpus\":true}", "field 'vcpus' must be an integer, got a boolean (true)");
    says("{\"env\":{\"A\":1}}", "field 'env.A' must be a string, got a number (1)");
    says("{\"network\":{\"allowOut\":[\"a\",3]}}", "field 'network.allowOut[1]' must be a string, got a number (3)");
    says("{\"argv\":\"ls\"}", "field 'argv' must be an array, got a string (\"ls\")");
    says("{\"network\":[]}", "field 'network' must be an object, got an array");
    says("{\"network\":{\"isPublic\":1}}", "field 'network.isPublic' must be true or false, got a number (1)");
    says("{\"env\":{\"A\":null}}", "field 'env.A' must not be null");
    says("{\"argv\":[\"ls\",null]}", "field 'argv[1]' must not be null");
  }

  @Test
  void theDocumentMustBeAnObject() {
    says("[]", "the body must be a JSON object, got an array");
    says("\"str\"", "the body must be a JSON object, got a string (\"str\")");
    says("5", "the body must be a JSON object, got a number (5)");
    says("null", "the body must be a JSON object, got null");
  }

  @Test
  void overflowSaysTheRange() {
    says("{\"vcpus\":99999999999}", "field 'vcpus' must be an integer from -2147483648 to 2147483647, got a number (99999999999)");
  }

  @Test
  void unknownFieldsListTheKnownOnes() {
    JsonInputException e = fail("{\"surprise\":1}");
    assertEquals(JsonInputException.Kind.UNKNOWN_FIELD, e.kind());
    assertEquals("unknown field 'surprise' (known fields: argv, env, network, template, timeoutSeconds, vcpus)", e.describe("the body", "field", ""));
    assertEquals("unknown key 'network.bad' in /etc/kiln.json (known keys under 'network': allowOut, egressMbit, isPublic, mode)",
        fail("{\"network\":{\"bad\":1}}").describe("config file /etc/kiln.json", "key", " in /etc/kiln.json"));
  }

  @Test
  void malformedJsonSaysWhereWithoutJacksonInternals() {
    JsonInputException e = fail("{not json");
    assertEquals(JsonInputException.Kind.MALFORMED, e.kind());
    assertEquals("the body is not valid JSON: Unexpected character ('n' (code 110)): was expecting double-quote to start field name at line 1, column 2",
        e.describe("the body", "field", ""));
    assertEquals("the body is not valid JSON: Unexpected end-of-input: expected close marker for Object at line 1, column 16",
        fail("{\"template\":\"a\"").describe("the body", "field", ""));
    assertEquals(JsonInputException.Kind.MALFORMED, fail("{}{}").kind());
    assertEquals(JsonInputException.Kind.MALFORMED, fail("{} x").kind());
    JsonInputException notUtf8 = assertThrows(JsonInputException.class, () -> StrictJson.read(JSON, new byte[] {'{', (byte) 0xff, '}'}, Body.class));
    assertEquals("the body is not valid JSON: Invalid UTF-8 start byte 0xff at line 1, column 3", notUtf8.describe("the body", "field", ""));
  }

  @Test
  void limitsAreTooLarge() {
    JsonInputException e = fail("{\"vcpus\":" + "1".repeat(1200) + "}");
    assertEquals(JsonInputException.Kind.TOO_LARGE, e.kind());
    assertEquals("the body is beyond the JSON limits: Number value length (1200) exceeds the maximum allowed (1000)", e.describe("the body", "field", ""));
  }

  @Test
  void aRecordsOwnCheckIsABadValueWithItsMessage() {
    JsonInputException e = fail("{\"size\":0}", Checked.class);
    assertEquals(JsonInputException.Kind.REFUSED, e.kind());
    assertEquals("the body: size must be at least 1, got 0", e.describe("the body", "field", ""));
  }

  @Test
  void enumsListTheirValues() {
    assertEquals("field 'mode' must be one of AUTO, KVM, got a string (\"tcg\")", fail("{\"mode\":\"tcg\"}", WithEnum.class).describe("the body", "field", ""));
  }

  @Test
  void goodInputBinds() throws Exception {
    Body b = StrictJson.read(JSON, "{\"template\":\"base\",\"vcpus\":2,\"env\":{\"A\":\"1\"}}".getBytes(StandardCharsets.UTF_8), Body.class);
    assertEquals("base", b.template());
    assertEquals(2, b.vcpus());
  }
}
