package dev.kiln.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's HTTP client defers setting TLS up to its first TLS connection, and then checks exactly
 * as the JDK's default does: a certificate nobody trusts is refused, one the trust store holds is
 * accepted, and the host name must match it.
 */
class DeferredTlsTest {
  private static final String PASSWORD = "changeit";
  @TempDir Path dir;
  private Path keystore;
  private HttpsServer server;

  @BeforeEach
  void serveHttpsWithASelfSignedCertificateFor127001() throws Exception {
    keystore = dir.resolve("server.p12");
    Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair", "-alias", "kiln",
        "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=kiln test", "-ext", "SAN=ip:127.0.0.1", "-validity", "2",
        "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD).inheritIO().start();
    assertEquals(true, keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0, "keytool made a key pair");
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(keystore.toFile())) {
      ks.load(in, PASSWORD.toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, PASSWORD.toCharArray());
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(kmf.getKeyManagers(), null, null);
    server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(tls));
    server.createContext("/v1/templates", ex -> {
      byte[] body = "{\"templates\":[]}".getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
    System.clearProperty("javax.net.ssl.trustStore");
    System.clearProperty("javax.net.ssl.trustStorePassword");
    System.clearProperty("javax.net.ssl.trustStoreType");
  }

  private String url(String host) {
    return "https://" + host + ":" + server.getAddress().getPort();
  }

  /** A client as the CLI's: the deferred TLS and nothing else of its own. */
  private String get(String host) throws Exception {
    try (HttpClient http = HttpClient.newBuilder().sslContext(DeferredTls.context()).sslParameters(DeferredTls.parameters()).build()) {
      return http.send(HttpRequest.newBuilder(URI.create(url(host) + "/v1/templates")).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
  }

  @Test
  void aCertificateTheTrustStoreDoesNotHoldIsRefused() {
    assertThrows(SSLHandshakeException.class, () -> get("127.0.0.1"));
  }

  @Test
  void aCertificateTheTrustStoreHoldsIsAcceptedForItsOwnHostOnly() throws Exception {
    System.setProperty("javax.net.ssl.trustStore", keystore.toString());
    System.setProperty("javax.net.ssl.trustStorePassword", PASSWORD);
    System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
    assertEquals("{\"templates\":[]}", get("127.0.0.1"));
    assertEquals("{\"templates\":[]}", new ApiClient(url("127.0.0.1"), "").get("/v1/templates").toString());
    // The certificate names 127.0.0.1 only: the same server by another name is refused.
    assertThrows(SSLHandshakeException.class, () -> get("localhost"));
  }
}
