package dev.kiln.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs every external tool Kiln uses ({@code qemu-img}, {@code mkfs.ext4}, {@code qemu-system-x86_64}
 * in daemonize mode, …) the same way: argv logged, output captured to bounded temp files, exit code
 * and stderr reported on failure, a deadline after which the process tree is killed.
 */
public final class CommandRunner {
  private static final Logger log = LoggerFactory.getLogger(CommandRunner.class);
  /** Stderr quoted in an error message is cut to this many bytes: enough for a tool's diagnosis. */
  private static final int MAX_QUOTED_STDERR = 4096;

  public record Result(List<String> argv, int exitCode, String stdout, String stderr, Duration took) {}

  private CommandRunner() {}

  /** Runs argv to completion; throws {@link CommandException} on a nonzero exit or a timeout. */
  public static Result run(List<String> argv, Duration timeout) {
    Result r = runAllowingFailure(argv, timeout);
    if (r.exitCode() != 0) {
      log.warn("command failed argv={} exit={} stderr=\"{}\"", argv, r.exitCode(), r.stderr().strip().replace('\n', ' '));
      throw new CommandException(r.argv(), r.exitCode(), r.stderr());
    }
    return r;
  }

  /** Runs argv to completion and returns its result whatever the exit code (a non-zero exit is the caller's to judge and log). */
  public static Result runAllowingFailure(List<String> argv, Duration timeout) {
    long start = System.nanoTime();
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("kiln-cmd", ".out");
      err = Files.createTempFile("kiln-cmd", ".err");
      Process p = new ProcessBuilder(argv)
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
          .redirectOutput(out.toFile())
          .redirectError(err.toFile())
          .start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
        throw new CommandException(argv, -1, "timed out after " + timeout.toSeconds() + "s");
      }
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      Result r = new Result(List.copyOf(argv), p.exitValue(), readBounded(out), readBounded(err), took);
      // A failure is logged by run(), where it is one: a caller that allows it (an nft table that may not be there) says what it means itself.
      log.debug("command argv={} exit={} took_ms={}", argv, r.exitCode(), took.toMillis());
      return r;
    } catch (IOException e) {
      throw new CommandException(argv, -1, "could not start: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandException(argv, -1, "interrupted");
    } finally {
      deleteQuietly(out);
      deleteQuietly(err);
    }
  }

  private static String readBounded(Path p) throws IOException {
    long size = Files.size(p);
    byte[] bytes;
    try (var in = Files.newInputStream(p)) {
      bytes = in.readNBytes((int) Math.min(size, 1 << 20));
    }
    String s = new String(bytes, StandardCharsets.UTF_8);
    return s;
  }

  static String quote(String stderr) {
    String s = stderr.strip();
    return s.length() > MAX_QUOTED_STDERR ? s.substring(0, MAX_QUOTED_STDERR) + "…" : s;
  }

  private static void deleteQuietly(Path p) {
    if (p == null) return;
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
