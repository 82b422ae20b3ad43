package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.sdk.Kiln;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The CLI's side of the SDK: a {@link Kiln} from KILN_URL and KILN_API_KEY, and the API's answers
 * as Jackson trees for {@link Output}, which prints them as the API wrote them. No HTTP here: the
 * requests, the key, the error decoding and the TLS are the SDK's ({@link Kiln#api()}).
 */
final class Api {
  /** The daemon's URL when KILN_URL is unset; {@link CliTraining} points it at its stub. */
  static volatile String defaultUrl = Kiln.DEFAULT_URL;
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Kiln kiln;

  private Api(Kiln kiln) {
    this.kiln = kiln;
  }

  /** @throws UserError when KILN_URL is not an http(s) URL with a host */
  static Api fromEnvironment() {
    try {
      return new Api(Kiln.fromEnvironment(defaultUrl));
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage(), KilnCli.EXIT_USAGE);
    }
  }

  /** The SDK connection, for its typed calls (create, processes, terminals). */
  Kiln kiln() {
    return kiln;
  }

  JsonNode get(String path) {
    return tree(kiln.api().get(path));
  }

  JsonNode post(String path, Object body) {
    return tree(kiln.api().post(path, text(body)));
  }

  JsonNode put(String path, Object body) {
    return tree(kiln.api().put(path, text(body)));
  }

  JsonNode patch(String path, Object body) {
    return tree(kiln.api().patch(path, text(body)));
  }

  JsonNode delete(String path) {
    return tree(kiln.api().delete(path));
  }

  JsonNode upload(String path, Path local) {
    return tree(kiln.api().upload(path, local));
  }

  JsonNode postStream(String path, String contentType, java.util.function.Supplier<InputStream> body) {
    return tree(kiln.api().postStream(path, contentType, body));
  }

  InputStream download(String path) {
    return kiln.api().open(path);
  }

  static String q(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static String text(Object body) {
    try {
      return JSON.writeValueAsString(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The SDK has checked that the answer is JSON. */
  private static JsonNode tree(String json) {
    try {
      return json.isEmpty() ? JSON.nullNode() : JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
