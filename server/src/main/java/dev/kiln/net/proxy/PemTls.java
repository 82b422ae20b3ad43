package dev.kiln.net.proxy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/** A server's TLS context from the PEM files operators have: a certificate chain and an unencrypted PKCS#8 private key. */
public final class PemTls {
  private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
  /** PEM files are small; a larger one is not what it claims to be. */
  private static final long MAX_PEM_BYTES = 1 << 20;

  private PemTls() {}

  /** @throws IOException with a message for the operator when a file is missing, unreadable or not what it should be */
  public static SSLContext serverContext(Path certificate, Path privateKey) throws IOException {
    List<Certificate> chain = new ArrayList<>();
    try {
      CertificateFactory x509 = CertificateFactory.getInstance("X.509");
      for (byte[] der : blocks(certificate, "CERTIFICATE")) chain.add(x509.generateCertificate(new ByteArrayInputStream(der)));
    } catch (GeneralSecurityException e) {
      throw new IOException(certificate + " holds a certificate that cannot be read: " + e.getMessage(), e);
    }
    if (chain.isEmpty()) throw new IOException(certificate + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    List<byte[]> keys = blocks(privateKey, "PRIVATE KEY");
    if (keys.size() != 1) {
      String text = read(privateKey);
      String hint = text.contains("BEGIN RSA PRIVATE KEY") || text.contains("BEGIN EC PRIVATE KEY") || text.contains("BEGIN ENCRYPTED PRIVATE KEY")
          ? ": it is in another format; convert it with `openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW`" : "";
      throw new IOException(privateKey + " must hold one unencrypted PKCS#8 key (-----BEGIN PRIVATE KEY-----)" + hint);
    }
    PrivateKey key = privateKey(keys.getFirst(), privateKey);
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      char[] none = new char[0];
      store.setKeyEntry("server", key, none, chain.toArray(Certificate[]::new));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(store, none);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(kmf.getKeyManagers(), null, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException("the key in " + privateKey + " does not go with the certificate in " + certificate + ": " + e.getMessage(), e);
    }
  }

  private static PrivateKey privateKey(byte[] der, Path file) throws IOException {
    for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // try the next algorithm
      }
    }
    throw new IOException(file + " holds a private key that is not RSA, EC or Ed25519");
  }

  private static List<byte[]> blocks(Path file, String type) throws IOException {
    List<byte[]> out = new ArrayList<>();
    Matcher m = BLOCK.matcher(read(file));
    while (m.find()) {
      if (!m.group(1).equals(type)) continue;
      try {
        out.add(Base64.getMimeDecoder().decode(m.group(2).replaceAll("\\s", "")));
      } catch (IllegalArgumentException e) {
        throw new IOException(file + " holds a " + type + " block that is not base64", e);
      }
    }
    return out;
  }

  private static String read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) throw new IOException(file + " does not exist or is not a file");
    if (Files.size(file) > MAX_PEM_BYTES) throw new IOException(file + " is larger than a PEM file should be (1 MiB)");
    return Files.readString(file, StandardCharsets.US_ASCII);
  }
}
