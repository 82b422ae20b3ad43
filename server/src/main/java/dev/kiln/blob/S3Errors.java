package dev.kiln.blob;

import dev.kiln.blob.ObjectStoreException.Problem;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * The S3 client's failures in the words of the bucket and the endpoint: the one place that reads
 * the SDK's exceptions, so that no class of it reaches a message.
 */
final class S3Errors {
  private final String bucket;
  private final String endpoint;

  S3Errors(String bucket, String endpoint) {
    this.bucket = bucket;
    this.endpoint = endpoint;
  }

  /** {@code doing}: what was asked, in words ending with the key if there is one: "get images/x/rootfs.ext4". */
  ObjectStoreException map(SdkException e, String doing) {
    if (e instanceof AwsServiceException s) {
      String code = s.awsErrorDetails() == null || s.awsErrorDetails().errorCode() == null ? "" : s.awsErrorDetails().errorCode();
      int status = s.statusCode();
      String said = s.awsErrorDetails() == null || s.awsErrorDetails().errorMessage() == null ? "" : ": " + s.awsErrorDetails().errorMessage();
      return switch (code) {
        case "NoSuchBucket" -> new ObjectStoreException(Problem.BUCKET_MISSING, "bucket '" + bucket + "' does not exist at " + endpoint + " (" + doing + ")", e);
        case "NoSuchKey" -> new ObjectStoreException(Problem.NOT_FOUND, "no object " + doing.substring(doing.indexOf(' ') + 1) + " in bucket '" + bucket + "' at " + endpoint, e);
        case "InvalidAccessKeyId" -> denied("the access key id is not known there", doing, e);
        case "SignatureDoesNotMatch" -> denied("the secret key does not match the access key id", doing, e);
        case "AccessDenied" -> denied("access denied", doing, e);
        default -> status == 403 ? denied("access denied (HTTP 403)", doing, e)
            : new ObjectStoreException(Problem.FAILED, "bucket '" + bucket + "' at " + endpoint + " refused to " + doing + ": HTTP " + status
                + (code.isEmpty() ? "" : " " + code) + said, e);
      };
    }
    if (e instanceof SdkClientException && String.valueOf(e.getMessage()).startsWith("Unable to load credentials")) {
      // The SDK lists every provider of its chain and why each failed: long, and full of class names.
      return new ObjectStoreException(Problem.ACCESS_DENIED, "no credentials for bucket '" + bucket + "' at " + endpoint
          + ": give objectStore.credentialsFile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", e);
    }
    if (e instanceof SdkClientException && unreachable(e)) {
      return new ObjectStoreException(Problem.UNREACHABLE, "object store at " + endpoint + " cannot be reached (" + Messages.of(e) + ") to " + doing, e);
    }
    return new ObjectStoreException(Problem.FAILED, "object store at " + endpoint + " (bucket '" + bucket + "') failed to " + doing + ": " + Messages.of(e), e);
  }

  private ObjectStoreException denied(String why, String doing, Throwable e) {
    return new ObjectStoreException(Problem.ACCESS_DENIED, endpoint + " refused access to bucket '" + bucket + "' (" + why
        + "): check the object store's credentials (" + doing + ")", e);
  }

  private static boolean unreachable(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      // SocketException covers refused, reset and no route; the others are a name that does not resolve and a timeout.
      if (c instanceof SocketException || c instanceof UnknownHostException || c instanceof SocketTimeoutException) return true;
    }
    return false;
  }
}
