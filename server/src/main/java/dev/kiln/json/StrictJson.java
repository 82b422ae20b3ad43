package dev.kiln.json;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.InvalidNullException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Binds JSON a user wrote to a record, strictly, and says what was wrong in the user's terms.
 * Strict: unknown fields, a value after the document, null for a primitive, and any coercion
 * between JSON types (5 for a string, "5" or 1.5 for an integer, 1 for a boolean) are errors;
 * guessing what a client meant hides its bugs.
 */
public final class StrictJson {
  /** Longest value quoted back in a message: enough to recognise it, not a way to echo a large body. */
  private static final int QUOTE_MAX = 40;

  private StrictJson() {}

  /** A mapper builder with the strict settings; callers add their own modules and output settings. */
  public static JsonMapper.Builder builder() {
    return JsonMapper.builder()
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        // null inside an array or object value (["ls", null], {"A": null}) is refused here, not found later as a NullPointerException
        .defaultSetterInfo(JsonSetter.Value.forContentNulls(Nulls.FAIL))
        .withCoercionConfig(LogicalType.Textual, c -> c
            .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
        .withCoercionConfig(LogicalType.Integer, c -> c
            .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
        .withCoercionConfig(LogicalType.Float, c -> c
            .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
        .withCoercionConfig(LogicalType.Boolean, c -> c
            .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
            .setCoercion(CoercionInputShape.Float, CoercionAction.Fail));
  }

  /** A reader per mapper and type: making one per request (readerFor) was a tenth of the API's time to answer a create. */
  private static final ConcurrentMap<ReaderKey, ObjectReader> READERS = new ConcurrentHashMap<>();

  /** The program's mappers and request types: a few of each. */
  private record ReaderKey(ObjectMapper mapper, Class<?> type) {}

  /** Binds {@code raw} (one JSON object, nothing after it) to {@code type}, a record or class bound from an object. */
  public static <T> T read(ObjectMapper mapper, byte[] raw, Class<T> type) throws JsonInputException {
    try (JsonParser p = mapper.createParser(raw)) {
      JsonToken first = p.nextToken();
      if (first != JsonToken.START_OBJECT) {
        throw new JsonInputException(JsonInputException.Kind.WRONG_TYPE, "", "must be a JSON object, got " + got(p), List.of());
      }
      // Trailing content is checked below, where it can be named as such.
      T value = READERS.computeIfAbsent(new ReaderKey(mapper, type), k -> mapper.readerFor(type).without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS))
          .readValue(p);
      if (p.nextToken() != null) {
        throw new JsonInputException(JsonInputException.Kind.MALFORMED, "",
            "it goes on after the end of its value" + at(p.currentTokenLocation()) + "; send one JSON object", List.of());
      }
      return value;
    } catch (JsonProcessingException e) {
      throw describe(e);
    } catch (IOException e) {
      // Reading from a byte array does no I/O; only the parser's own errors above can happen.
      throw new JsonInputException(JsonInputException.Kind.MALFORMED, "", clean(e.getMessage()), List.of());
    }
  }

  /** Jackson's failure as the user should read it. */
  static JsonInputException describe(JsonProcessingException e) {
    String path = e instanceof JsonMappingException m ? path(m.getPath()) : "";
    if (e instanceof StreamConstraintsException) {
      return new JsonInputException(JsonInputException.Kind.TOO_LARGE, path, clean(e.getOriginalMessage()), List.of());
    }
    if (e instanceof JsonParseException) {
      return new JsonInputException(JsonInputException.Kind.MALFORMED, path, clean(e.getOriginalMessage()) + at(e.getLocation()), List.of());
    }
    if (e instanceof UnrecognizedPropertyException u) {
      List<String> known = u.getKnownPropertyIds() == null ? List.of() : u.getKnownPropertyIds().stream().map(String::valueOf).sorted().toList();
      return new JsonInputException(JsonInputException.Kind.UNKNOWN_FIELD, path, "is not a known field", known);
    }
    if (e instanceof ValueInstantiationException v) {
      // The record's own constructor refused the value: its message is written for users.
      Throwable cause = v.getCause();
      if (cause instanceof IllegalArgumentException && cause.getMessage() != null) {
        return new JsonInputException(JsonInputException.Kind.REFUSED, path, cause.getMessage(), List.of());
      }
      return new JsonInputException(JsonInputException.Kind.BAD_VALUE, path, "has a value that is not allowed", List.of());
    }
    if (e.getCause() instanceof StreamConstraintsException c) {
      return new JsonInputException(JsonInputException.Kind.TOO_LARGE, path, clean(c.getOriginalMessage()), List.of());
    }
    if (e.getCause() instanceof InputCoercionException c) {
      return new JsonInputException(JsonInputException.Kind.BAD_VALUE, path, "must be " + range(c.getTargetType()) + ", got " + got(c.getProcessor()),
          List.of());
    }
    if (e instanceof InvalidNullException) {
      return new JsonInputException(JsonInputException.Kind.WRONG_TYPE, path, "must not be null", List.of());
    }
    if (e instanceof MismatchedInputException m) {
      Class<?> target = m.getTargetType();
      Object processor = m.getProcessor();
      if (target != null && target.isEnum()) {
        String allowed = String.join(", ", Arrays.stream(target.getEnumConstants()).map(String::valueOf).toList());
        return new JsonInputException(JsonInputException.Kind.BAD_VALUE, path, "must be one of " + allowed + ", got " + got(processor), List.of());
      }
      String got = e instanceof InvalidFormatException f && f.getValue() instanceof BigDecimal d ? "a number with a fraction (" + d + ")"
          : e instanceof InvalidFormatException f && f.getValue() instanceof Double d ? "a number with a fraction (" + d + ")" : got(processor);
      String expected = path.isEmpty() ? "a JSON object" : expected(target);
      return new JsonInputException(JsonInputException.Kind.WRONG_TYPE, path, "must be " + expected + ", got " + got, List.of());
    }
    if (e instanceof JsonMappingException) {
      return new JsonInputException(JsonInputException.Kind.BAD_VALUE, path, "has a value that could not be read: " + clean(e.getOriginalMessage()), List.of());
    }
    return new JsonInputException(JsonInputException.Kind.MALFORMED, path, clean(e.getOriginalMessage()) + at(e.getLocation()), List.of());
  }

  /** "network.allowOut[1]" from Jackson's reference chain. */
  private static String path(List<JsonMappingException.Reference> refs) {
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : refs) {
      if (r.getFieldName() != null) {
        if (!b.isEmpty()) b.append('.');
        b.append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        b.append('[').append(r.getIndex()).append(']');
      }
    }
    return b.toString();
  }

  /** What a Java target type is in JSON's words. */
  private static String expected(Class<?> t) {
    if (t == null || t == Object.class) return "a value of another type";
    if (t == Boolean.class || t == boolean.class) return "true or false";
    if (t == Integer.class || t == int.class || t == Long.class || t == long.class || t == Short.class || t == short.class || t == Byte.class
        || t == byte.class || t == BigInteger.class) return "an integer";
    if (Number.class.isAssignableFrom(t) || t == double.class || t == float.class) return "a number";
    if (CharSequence.class.isAssignableFrom(t) || t == Character.class || t == char.class || t == java.nio.file.Path.class || t == java.net.URI.class) {
      return "a string";
    }
    if (Collection.class.isAssignableFrom(t) || t.isArray()) return "an array";
    return "an object"; // a Map or a record
  }

  private static String range(Class<?> t) {
    if (t == Integer.TYPE || t == Integer.class) return "an integer from " + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE;
    if (t == Long.TYPE || t == Long.class) return "an integer from " + Long.MIN_VALUE + " to " + Long.MAX_VALUE;
    return "a smaller number";
  }

  /** The JSON value the parser stopped at, in words, with a scalar quoted back (shortened). */
  private static String got(Object processor) {
    if (!(processor instanceof JsonParser p)) return "a value of another type";
    JsonToken t = p.currentToken();
    if (t == null) return "nothing";
    String text;
    try {
      text = p.getText();
    } catch (IOException e) {
      text = null;
    }
    return switch (t) {
      case START_ARRAY -> "an array";
      case START_OBJECT -> "an object";
      case VALUE_STRING -> "a string (" + quote(text) + ")";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number (" + shorten(text) + ")";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean (" + text + ")";
      case VALUE_NULL -> "null";
      default -> "a value of another type";
    };
  }

  private static String quote(String s) {
    return s == null ? "\"\"" : "\"" + shorten(s).replace("\"", "\\\"") + "\"";
  }

  private static String shorten(String s) {
    if (s == null) return "";
    return s.length() <= QUOTE_MAX ? s : s.substring(0, QUOTE_MAX) + "…";
  }

  private static String at(JsonLocation l) {
    if (l == null || l.getLineNr() < 1) return "";
    return " at line " + l.getLineNr() + ", column " + l.getColumnNr();
  }

  /**
   * Jackson's own wording without its internals: the "[Source: …]" location (we give line and
   * column ourselves) and `backquoted` feature and class names.
   */
  static String clean(String message) {
    if (message == null || message.isBlank()) return "unreadable input";
    String m = message.replaceAll("\\s*\\(start marker at \\[Source:.*?\\]\\)", "")
        .replaceAll("\\s*\\[Source:[^\\]]*\\]", "")
        .replaceAll(",\\s*from `[^`]*`", "")
        .replaceAll("\\s*\\([^()]*`[^`]*`[^()]*\\)", "")
        .replaceAll("`[^`]*`", "a value")
        .strip();
    return m.isEmpty() ? "unreadable input" : m;
  }
}
