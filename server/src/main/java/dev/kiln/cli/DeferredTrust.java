package dev.kiln.cli;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The JDK's default trust (the cacerts store, or {@code javax.net.ssl.trustStore}), loaded at the
 * first TLS handshake instead of when the CLI's HTTP client is built. java.net.http builds the
 * default SSLContext with every client, and parsing the store's CA certificates cost a plain-HTTP
 * {@code kiln template list} about a third of its start (docs/adr/0008-cli-start-time.md). Every
 * check is the default trust manager's own; only the moment it is made changes.
 */
final class DeferredTrust extends X509ExtendedTrustManager {
  private volatile X509ExtendedTrustManager delegate;

  private DeferredTrust() {}

  /** A TLS context with no client certificate and the default trust, deferred. */
  static SSLContext context() {
    try {
      SSLContext c = SSLContext.getInstance("TLS");
      c.init(null, new TrustManager[] {new DeferredTrust()}, null);
      return c;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK has no TLS: " + e.getMessage(), e);
    }
  }

  private X509ExtendedTrustManager trust() throws CertificateException {
    X509ExtendedTrustManager d = delegate;
    if (d != null) return d;
    try {
      TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      f.init((KeyStore) null);
      for (TrustManager t : f.getTrustManagers()) {
        if (t instanceof X509ExtendedTrustManager x) return delegate = x;
      }
      throw new CertificateException("the JDK's default trust manager is not an X509ExtendedTrustManager");
    } catch (GeneralSecurityException e) {
      throw new CertificateException("cannot load the JDK's trusted certificates: " + e.getMessage(), e);
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    trust().checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    trust().checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    trust().checkServerTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    trust().checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    trust().checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    trust().checkClientTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    try {
      return trust().getAcceptedIssuers();
    } catch (CertificateException e) {
      return new X509Certificate[0];
    }
  }
}
