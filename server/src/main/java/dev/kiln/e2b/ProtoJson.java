package dev.kiln.e2b;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One proto3 JSON message from E2B's SDK, read the way protobuf-es writes it: lowerCamelCase names
 * (the snake_case originals too), 64-bit and 32-bit numbers as numbers or strings, bytes as base64
 * of either alphabet, enums by name or number, null as absent. Unknown fields are ignored, as
 * proto3 readers do; a field of the wrong type is an invalid_argument naming it.
 */
final class ProtoJson {
  static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private final JsonNode node;
  private final String where;

  private ProtoJson(JsonNode node, String where) {
    this.node = node;
    this.where = where;
  }

  static ProtoJson parse(byte[] body, String message) {
    if (body.length == 0) return new ProtoJson(JSON.createObjectNode(), message);
    JsonNode n;
    try {
      n = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw invalid(message + " is not JSON: " + firstLine(e.getOriginalMessage()));
    } catch (java.io.IOException e) {
      throw invalid(message + " could not be read");
    }
    if (n == null || n.isNull() || n.isMissingNode()) return new ProtoJson(JSON.createObjectNode(), message);
    if (!n.isObject()) throw invalid(message + " must be a JSON object, got " + kind(n));
    return new ProtoJson(n, message);
  }

  Optional<ProtoJson> message(String name) {
    JsonNode v = field(name);
    if (v == null) return Optional.empty();
    if (!v.isObject()) throw wrongType(name, "an object", v);
    return Optional.of(new ProtoJson(v, where + "." + name));
  }

  boolean has(String name) {
    return field(name) != null;
  }

  String string(String name, String absent) {
    JsonNode v = field(name);
    if (v == null) return absent;
    if (!v.isTextual()) throw wrongType(name, "a string", v);
    return v.textValue();
  }

  boolean bool(String name) {
    JsonNode v = field(name);
    if (v == null) return false;
    if (!v.isBoolean()) throw wrongType(name, "true or false", v);
    return v.booleanValue();
  }

  /** A uint32 (JSON number or decimal string), {@code absent} when missing. */
  long uint32(String name, long absent) {
    JsonNode v = field(name);
    if (v == null) return absent;
    long n;
    if (v.isIntegralNumber() && v.canConvertToLong()) {
      n = v.longValue();
    } else if (v.isTextual() && v.textValue().matches("\\d{1,10}")) {
      n = Long.parseLong(v.textValue());
    } else {
      throw wrongType(name, "a number 0..4294967295", v);
    }
    if (n < 0 || n > 0xFFFF_FFFFL) throw invalid(where + "." + name + " must be 0..4294967295, got " + n);
    return n;
  }

  List<String> strings(String name) {
    JsonNode v = field(name);
    if (v == null) return List.of();
    if (!v.isArray()) throw wrongType(name, "an array of strings", v);
    List<String> out = new ArrayList<>();
    for (JsonNode e : v) {
      if (!e.isTextual()) throw wrongType(name, "an array of strings", v);
      out.add(e.textValue());
    }
    return out;
  }

  Map<String, String> stringMap(String name) {
    JsonNode v = field(name);
    if (v == null) return Map.of();
    if (!v.isObject()) throw wrongType(name, "an object of strings", v);
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : v.properties()) {
      if (!e.getValue().isTextual()) throw wrongType(name + "." + e.getKey(), "a string", e.getValue());
      out.put(e.getKey(), e.getValue().textValue());
    }
    return out;
  }

  /** Base64 of the standard or URL alphabet, padded or not. */
  Optional<byte[]> bytes(String name) {
    JsonNode v = field(name);
    if (v == null) return Optional.empty();
    if (!v.isTextual()) throw wrongType(name, "base64 text", v);
    String s = v.textValue().replace('-', '+').replace('_', '/').replaceAll("=+$", "");
    try {
      return Optional.of(Base64.getDecoder().decode(s + "=".repeat((4 - s.length() % 4) % 4)));
    } catch (IllegalArgumentException e) {
      throw invalid(where + "." + name + " is not base64");
    }
  }

  /** An enum given by its name (what the SDK sends) or its number; empty for a name this server does not know. */
  Optional<String> enumName(String name, Map<Integer, String> byNumber) {
    JsonNode v = field(name);
    if (v == null) return Optional.empty();
    if (v.isTextual()) return Optional.of(v.textValue());
    if (v.isIntegralNumber() && v.canConvertToInt()) return Optional.ofNullable(byNumber.get(v.intValue()));
    throw wrongType(name, "an enum name or number", v);
  }

  private JsonNode field(String camel) {
    JsonNode v = node.get(camel);
    if (v == null) v = node.get(snake(camel));
    return v == null || v.isNull() ? null : v;
  }

  private static String snake(String camel) {
    StringBuilder b = new StringBuilder();
    for (char c : camel.toCharArray()) {
      if (Character.isUpperCase(c)) b.append('_').append(Character.toLowerCase(c));
      else b.append(c);
    }
    return b.toString();
  }

  private KilnException wrongType(String name, String want, JsonNode got) {
    return invalid(where + "." + name + " must be " + want + ", got " + kind(got));
  }

  private static String kind(JsonNode n) {
    return n.getNodeType() == JsonNodeType.STRING ? "a string" : n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }

  private static String firstLine(String s) {
    if (s == null) return "malformed";
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  static KilnException invalid(String message) {
    return new KilnException(ErrorCode.INVALID_REQUEST, message);
  }

  static byte[] write(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write an envd message", e);
    }
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
