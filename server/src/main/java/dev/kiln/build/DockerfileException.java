package dev.kiln.build;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;

/** A Dockerfile Kiln cannot build, with the line it is about (0: the file as a whole). */
public final class DockerfileException extends KilnException {
  private final int line;

  public DockerfileException(int line, String message) {
    super(ErrorCode.INVALID_DOCKERFILE, (line > 0 ? "Dockerfile line " + line + ": " : "Dockerfile: ") + message);
    this.line = line;
  }

  public int line() {
    return line;
  }
}
