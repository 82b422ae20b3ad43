package dev.kiln.sdk;

import java.security.KeyManagementException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * The JDK's default TLS ({@link SSLContext#getDefault()}: its trust store, its key store, its
 * protocols and ciphers), made at the first TLS connection instead of when the SDK's HTTP client
 * is built. java.net.http sets TLS up with every client, and the security providers, the default
 * parameters and the CA certificates cost a plain-HTTP call a good part of a short-lived JVM's
 * start: the CLI's {@code kiln template list} (docs/adr/0008-cli-start-time.md). Nothing is
 * checked differently; it is only later.
 *
 * <p>The client must be given {@link #parameters()} too: without them java.net.http asks the
 * context for its defaults at once, which is the work deferred here.
 */
final class DeferredTls extends SSLContextSpi {
  private volatile SSLContext real;

  private DeferredTls() {}

  /** A context that becomes the JDK's default one at its first use. */
  static SSLContext context() {
    return new SSLContext(new DeferredTls(), null, "Default") {};
  }

  /** Parameters that leave protocols and ciphers to the context: the JDK's defaults, when it is made. */
  static SSLParameters parameters() {
    return new SSLParameters();
  }

  private SSLContext real() {
    SSLContext c = real;
    if (c != null) return c;
    synchronized (this) {
      if (real == null) {
        try {
          real = SSLContext.getDefault();
        } catch (NoSuchAlgorithmException e) {
          throw new IllegalStateException("this JDK has no default TLS: " + e.getMessage(), e);
        }
      }
      return real;
    }
  }

  @Override
  protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom random) throws KeyManagementException {
    throw new KeyManagementException("the JDK's default TLS context is initialized by the JDK");
  }

  @Override
  protected SSLSocketFactory engineGetSocketFactory() {
    return real().getSocketFactory();
  }

  @Override
  protected SSLServerSocketFactory engineGetServerSocketFactory() {
    return real().getServerSocketFactory();
  }

  @Override
  protected SSLEngine engineCreateSSLEngine() {
    return real().createSSLEngine();
  }

  @Override
  protected SSLEngine engineCreateSSLEngine(String host, int port) {
    return real().createSSLEngine(host, port);
  }

  @Override
  protected SSLSessionContext engineGetServerSessionContext() {
    return real().getServerSessionContext();
  }

  @Override
  protected SSLSessionContext engineGetClientSessionContext() {
    return real().getClientSessionContext();
  }

  @Override
  protected SSLParameters engineGetDefaultSSLParameters() {
    return real().getDefaultSSLParameters();
  }

  @Override
  protected SSLParameters engineGetSupportedSSLParameters() {
    return real().getSupportedSSLParameters();
  }
}
