package dev.kiln.image;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One build's log: kept in memory for followers (the streaming logs endpoint) and written to
 * {@code build.log} in the template's directory so it outlives the build.
 */
public final class BuildLog {
  /** A follower joining late still gets the start; beyond this the file has the rest. */
  private static final int MAX_LINES_IN_MEMORY = 10_000;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition grew = lock.newCondition();
  private final List<String> lines = new ArrayList<>();
  private final Writer file;
  private boolean closed;

  BuildLog(Path file) throws IOException {
    this.file = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
  }

  void line(String text) {
    String l = Instant.now() + " " + text;
    lock.lock();
    try {
      if (lines.size() < MAX_LINES_IN_MEMORY) lines.add(l);
      try {
        file.write(l + "\n");
        file.flush();
      } catch (IOException e) {
        // The in-memory log still has it; a full disk shows up as the build's own error.
      }
      grew.signalAll();
    } finally {
      lock.unlock();
    }
  }

  void close() {
    lock.lock();
    try {
      closed = true;
      try {
        file.close();
      } catch (IOException ignored) {
        // nothing more will be written
      }
      grew.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Lines from {@code from} on, waiting up to {@code wait} for some to appear. Empty with
   * {@link #isClosed} true means the build is over and everything was read.
   */
  public List<String> next(int from, Duration wait) throws InterruptedException {
    lock.lock();
    try {
      long nanos = wait.toNanos();
      while (lines.size() <= from && !closed && nanos > 0) nanos = grew.awaitNanos(nanos);
      return lines.size() > from ? List.copyOf(lines.subList(from, lines.size())) : List.of();
    } finally {
      lock.unlock();
    }
  }

  public boolean isClosed() {
    lock.lock();
    try {
      return closed;
    } finally {
      lock.unlock();
    }
  }
}
