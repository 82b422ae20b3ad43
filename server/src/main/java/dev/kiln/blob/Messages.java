package dev.kiln.blob;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** A failure of the JDK's I/O in words, without the exception's class name. */
final class Messages {
  private Messages() {}

  static String of(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      switch (c) {
        case ConnectException e -> { return "connection refused"; }
        case UnknownHostException e -> { return "unknown host " + e.getMessage(); }
        case NoRouteToHostException e -> { return "no route to host"; }
        case SocketTimeoutException e -> { return "timed out"; }
        case NoSuchFileException e -> { return e.getFile() + " does not exist"; }
        case AccessDeniedException e -> { return "permission denied on " + e.getFile(); }
        case FileSystemException e when e.getReason() != null -> { return e.getReason() + (e.getFile() == null ? "" : " (" + e.getFile() + ")"); }
        default -> { }
      }
    }
    String m = t.getMessage();
    return m == null || m.isBlank() ? (t instanceof IOException ? "I/O error" : "unexpected failure") : m;
  }
}
