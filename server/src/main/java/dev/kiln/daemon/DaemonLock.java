package dev.kiln.daemon;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * A claim one daemon holds for as long as it runs: an exclusive lock on a file (its data directory's
 * {@code daemon.lock}, or its network prefix's under /run/kiln), with the holder's pid and data
 * directory written in it for the message another daemon gives when it finds the claim taken.
 *
 * <p>The lock is the kernel's (fcntl, through {@link FileChannel#tryLock}): it goes with the process,
 * so a daemon killed with SIGKILL leaves nothing to clean up, and the VMs it started (which outlive
 * it) never hold it. Within one JVM a second claim of the same file is refused too (the daemons of
 * in-process tests). Never open the file otherwise in the holding process: closing any descriptor
 * of a file drops the process's fcntl locks on it.
 */
final class DaemonLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private DaemonLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /** Who holds a claim, as its lock file says. */
  record Holder(Optional<Long> pid, Optional<String> dataDir) {
    String describe() {
      return "another kiln daemon (" + pid.map(p -> "pid " + p).orElse("pid unknown") + dataDir.map(d -> ", data directory " + d).orElse("") + ")";
    }
  }

  /** Thrown when the claim is taken. */
  static final class Taken extends Exception {
    final Holder holder;

    Taken(Holder holder) {
      super(holder.describe());
      this.holder = holder;
    }
  }

  /**
   * Takes the claim on {@code file} (created if missing) for this process, writing our pid and
   * {@code dataDir} into it.
   *
   * @throws Taken when another daemon holds it
   * @throws IOException when the file cannot be made or locked at all
   */
  static DaemonLock acquire(Path file, Path dataDir) throws IOException, Taken {
    Files.createDirectories(file.getParent());
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      ch.close();
      throw new Taken(new Holder(Optional.of(ProcessHandle.current().pid()), Optional.empty()));
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    if (lock == null) {
      Holder h = read(ch);
      ch.close();
      throw new Taken(h);
    }
    try {
      ch.truncate(0);
      ch.write(ByteBuffer.wrap(("pid=" + ProcessHandle.current().pid() + "\ndataDir=" + dataDir + "\n").getBytes(StandardCharsets.UTF_8)), 0);
      ch.force(false);
    } catch (IOException e) {
      lock.release();
      ch.close();
      throw e;
    }
    return new DaemonLock(ch, lock);
  }

  /** The holder's pid and data directory, read through the channel we already have (opening the file again would be harmless here, but see the class comment). */
  private static Holder read(FileChannel ch) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4096);
    while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
      // fill
    }
    Optional<Long> pid = Optional.empty();
    Optional<String> dir = Optional.empty();
    for (String line : new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).split("\n")) {
      if (line.startsWith("pid=") && line.substring(4).matches("\\d{1,10}")) pid = Optional.of(Long.parseLong(line.substring(4)));
      if (line.startsWith("dataDir=") && line.length() > 8) dir = Optional.of(line.substring(8));
    }
    return new Holder(pid, dir);
  }

  /** Gives the claim up (the file stays: the next daemon takes it over). */
  @Override
  public void close() throws IOException {
    try {
      if (lock.isValid()) lock.release();
    } finally {
      channel.close();
    }
  }
}
