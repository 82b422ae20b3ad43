package dev.kiln.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.kiln.sdk.Kiln;
import dev.kiln.sdk.KilnException;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK's HTTP client, and so the CLI's, defers setting TLS up to its first TLS connection, and then checks exactly
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
  }

  private String url(String host) {
    return "https://" + host + ":" + server.getAddress().getPort();
  }

  private record Run(int code, String out) {}

  /**
   * {@code kiln template list} in a JVM of its own against the HTTPS server: the JDK's default
   * context is made once per JVM, so each trust store gets a fresh one.
   */
  private Run templateList(String host, boolean trustTheServer) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1"));
    if (trustTheServer) {
      cmd.addAll(List.of("-Djavax.net.ssl.trustStore=" + keystore, "-Djavax.net.ssl.trustStorePassword=" + PASSWORD, "-Djavax.net.ssl.trustStoreType=PKCS12"));
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), KilnCli.class.getName(), "template", "list", "-o", "json"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put("KILN_URL", url(host));
    pb.environment().put("KILN_API_KEY", "");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new Run(p.exitValue(), out.strip());
  }

  private static void refused(Run r) {
    assertTrue(r.code() != 0 && r.out().isEmpty(), "refused: " + r);
  }

  @Test
  void aCertificateTheTrustStoreDoesNotHoldIsRefused() throws Exception {
    refused(templateList("127.0.0.1", false));
  }

  @Test
  void aCertificateTheTrustStoreHoldsIsAcceptedForItsOwnHostOnly() throws Exception {
    assertEquals(new Run(0, "[ ]"), templateList("127.0.0.1", true));
    // The certificate names 127.0.0.1 only: the same server by another name is refused.
    refused(templateList("localhost", true));
  }

  @Test
  void theSdkRefusesAnUntrustedServerInThisJvmToo() {
    try (Kiln kiln = new Kiln(url("127.0.0.1"), "")) {
      KilnException e = assertThrows(KilnException.class, () -> kiln.api().get("/v1/templates"));
      assertInstanceOf(SSLHandshakeException.class, e.getCause(), e.getMessage());
      assertTrue(e.getMessage().contains("TLS failed"), e.getMessage());
    }
  }
}
