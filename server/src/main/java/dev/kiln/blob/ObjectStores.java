package dev.kiln.blob;

import dev.kiln.blob.ObjectStoreException.Problem;
import dev.kiln.config.ObjectStoreConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.profiles.ProfileFile;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** The object store the config names: an S3 client for its bucket, built once per daemon. */
public final class ObjectStores {
  /** A store that does not accept a connection in this long is down, not slow. */
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /** No byte for this long in the middle of a transfer is a dead connection. */
  private static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(60);

  private ObjectStores() {}

  /**
   * The bucket of {@code config} (which must have one). Builds the client only: {@link ObjectStore#check}
   * says whether the bucket is there and the credentials work.
   */
  public static ObjectStore open(ObjectStoreConfig config) {
    if (config.directory() != null) return new LocalObjectStore(config.directory());
    return s3(config, S3ObjectStore.DEFAULT_PART_SIZE, TransferFaults.NONE);
  }

  static S3ObjectStore s3(ObjectStoreConfig config, long partSize, TransferFaults faults) {
    if (config.bucket() == null) throw new IllegalArgumentException("objectStore has no bucket");
    String region = config.region();
    String endpoint = config.endpoint() != null ? config.endpoint() : "https://s3." + region + ".amazonaws.com";
    var b = S3Client.builder()
        .region(Region.of(region))
        .forcePathStyle(config.pathStyle())
        .credentialsProvider(credentials(config.credentialsFile()))
        .httpClientBuilder(ApacheHttpClient.builder().connectionTimeout(CONNECT_TIMEOUT).socketTimeout(SOCKET_TIMEOUT))
        // Only what S3 requires: stores other than AWS do not all know the newer trailing checksums,
        // and every object is verified end to end by its recorded SHA-256 anyway.
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    if (config.endpoint() != null) b.endpointOverride(URI.create(config.endpoint()));
    return new S3ObjectStore(b.build(), config.bucket(), config.prefix(), endpoint, partSize, faults);
  }

  private static AwsCredentialsProvider credentials(Path file) {
    if (file == null) return DefaultCredentialsProvider.builder().build();
    if (!Files.isReadable(file)) {
      throw new ObjectStoreException(Problem.LOCAL_FILE, "the object store's credentials file " + file + (Files.exists(file) ? " cannot be read" : " does not exist")
          + " (objectStore.credentialsFile)");
    }
    ProfileFile profiles = ProfileFile.builder().content(file).type(ProfileFile.Type.CREDENTIALS).build();
    if (profiles.profile("default").isEmpty()) {
      throw new ObjectStoreException(Problem.LOCAL_FILE, "the object store's credentials file " + file + " has no [default] section (objectStore.credentialsFile)");
    }
    return ProfileCredentialsProvider.builder().profileFile(profiles).profileName("default").build();
  }
}
