package dev.kiln.vmm;

import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Saves and restores VM state with QEMU's migration, over a Unix socket the daemon serves or feeds:
 * QEMU's seccomp policy forbids the {@code exec:} transport, and QEMU 7.2 has no {@code file:} one.
 */
final class QemuMigration {
  private static final Duration POLL = Duration.ofMillis(2);
  /** A live migration takes seconds: its progress is read less often than a local save's. */
  private static final Duration LIVE_POLL = Duration.ofMillis(20);
  private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);

  private QemuMigration() {}

  /** Pauses the VM and writes its state to {@code target} (temp, fsync, rename). The VM stays paused. */
  static SavedState save(VmSpec spec, QmpClient qmp, Optional<VmmIdentity> identity, Path target, Duration timeout)
      throws VmmException, InterruptedException {
    Path sock = spec.migrationSocket();
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    try (ServerSocketChannel server = listen(sock, identity)) {
      Files.createDirectories(target.toAbsolutePath().getParent());
      // The run directory is writable by the QEMU being saved: whatever it left at this name goes,
      // and the file is made new, so the stream never lands in a file a link points at.
      Files.deleteIfExists(tmp);
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      CompletableFuture<Long> copied = new CompletableFuture<>();
      Thread.ofVirtual().name("migrate-out-" + spec.name()).start(() -> {
        try (SocketChannel in = server.accept(); FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          long n = Channels.newInputStream(in).transferTo(new DigestOutputStream(Channels.newOutputStream(out), sha));
          out.force(true);
          copied.complete(n);
        } catch (IOException | RuntimeException e) {
          copied.completeExceptionally(e);
        }
      });
      qmp.execute("stop", null, QMP_TIMEOUT);
      setCapabilities(spec, qmp);
      qmp.execute("migrate", Map.of("uri", "unix:" + sock), QMP_TIMEOUT);
      awaitMigration(spec, qmp, timeout);
      long bytes = copied.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      AtomicFiles.moveDurably(tmp, target);
      return new SavedState(target, bytes, HexFormat.of().formatHex(sha.digest()));
    } catch (IOException | ExecutionException | TimeoutException | java.security.NoSuchAlgorithmException e) {
      throw new VmmException("saving the state of " + spec.name() + " failed: " + e.getMessage(), e);
    } finally {
      try {
        Files.deleteIfExists(sock);
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // the error above, if any, is the one to report
      }
    }
  }

  private static ServerSocketChannel listen(Path sock, Optional<VmmIdentity> identity) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      Files.deleteIfExists(sock);
      server.bind(UnixDomainSocketAddress.of(sock));
      if (identity.isPresent()) {
        // QEMU, running as this VM's uid, must be able to connect; no other VM's may.
        // lchown: the socket is the daemon's, just bound, in a sticky directory QEMU cannot rename it in.
        Files.setAttribute(sock, "unix:uid", identity.get().uid(), java.nio.file.LinkOption.NOFOLLOW_LINKS);
      }
      return server;
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
  }

  /** Feeds a saved state to a VM started with {@code -incoming defer}; the VM stays paused. */
  static void restore(VmSpec spec, QmpClient qmp, Path state, Duration timeout) throws VmmException, InterruptedException {
    try (InputStream in = Files.newInputStream(state)) {
      receive(spec, qmp, in, false, timeout);
    } catch (IOException e) {
      throw new VmmException("the saved state of " + spec.name() + " cannot be read: " + e.getMessage(), e);
    }
  }

  /**
   * Feeds a migration stream to a VM started with {@code -incoming defer}; returns the bytes fed once
   * the VM has loaded it, still stopped. {@code live}: the stream comes from a running VM on another
   * host, whose disk's top layer is written here only after the stream ends, so the VM takes its
   * disks at {@code cont} (late-block-activate) rather than now.
   */
  static long receive(VmSpec spec, QmpClient qmp, InputStream stream, boolean live, Duration timeout) throws VmmException, InterruptedException {
    if (live) {
      qmp.execute("migrate-set-capabilities", Map.of("capabilities", List.of(Map.of("capability", "late-block-activate", "state", true))), QMP_TIMEOUT);
    } else {
      setCapabilities(spec, qmp);
    }
    Path sock = spec.migrationSocket();
    qmp.execute("migrate-incoming", Map.of("uri", "unix:" + sock), QMP_TIMEOUT);
    long deadline = System.nanoTime() + timeout.toNanos();
    long bytes;
    try (SocketChannel ch = connect(sock, deadline); OutputStream out = Channels.newOutputStream(ch)) {
      bytes = stream.transferTo(out);
    } catch (IOException e) {
      throw new VmmException("sending the " + (live ? "migration stream" : "saved state") + " to " + spec.name() + " failed: " + e.getMessage(), e);
    }
    while (true) {
      String status = qmp.execute("query-status", null, QMP_TIMEOUT).path("status").asText();
      if (status.equals("paused") || status.equals("postmigrate")) break;
      if (!status.equals("inmigrate")) throw new VmmException("restoring " + spec.name() + " failed: the VM is '" + status + "' after loading its state");
      if (System.nanoTime() > deadline) throw new VmmException("restoring " + spec.name() + " did not finish within " + timeout.toSeconds() + "s");
      Thread.sleep(POLL);
    }
    return bytes;
  }

  /**
   * Sends the running VM to {@code sink}, live: QEMU copies RAM while the guest runs, throttling
   * its vCPUs (auto-converge) when it dirties pages faster than they go, and stops it for a last
   * pass once what is left fits in the downtime. Returns once the other side has loaded the
   * stream; the VM is then stopped here ("postmigrate"). On failure the migration is cancelled and,
   * once QEMU has let go of it, the VM runs here as before.
   */
  static MigrationStats sendLive(VmSpec spec, QmpClient qmp, Optional<VmmIdentity> identity, MigrationSettings settings, MigrationSink sink)
      throws VmmException, InterruptedException {
    Path sock = spec.migrationSocket();
    long deadline = System.nanoTime() + settings.timeout().toNanos();
    try (ServerSocketChannel server = listen(sock, identity)) {
      qmp.execute("migrate-set-capabilities", Map.of("capabilities", List.of(Map.of("capability", "auto-converge", "state", true))), QMP_TIMEOUT);
      qmp.execute("migrate-set-parameters", Map.of("downtime-limit", settings.maxDowntime().toMillis(), "max-bandwidth", settings.maxBytesPerSecond()),
          QMP_TIMEOUT);
      CompletableFuture<Void> sent = new CompletableFuture<>();
      Thread.ofVirtual().name("migrate-live-" + spec.name()).start(() -> {
        try (SocketChannel in = server.accept()) {
          sink.send(Channels.newInputStream(in));
          sent.complete(null);
        } catch (IOException | RuntimeException e) {
          sent.completeExceptionally(e);
        } catch (InterruptedException e) {
          sent.completeExceptionally(e);
          Thread.currentThread().interrupt();
        }
      });
      qmp.execute("migrate", Map.of("uri", "unix:" + sock), QMP_TIMEOUT);
      com.fasterxml.jackson.databind.JsonNode info;
      long completedAt;
      while (true) {
        info = qmp.execute("query-migrate", null, QMP_TIMEOUT);
        String status = info.path("status").asText();
        if (status.equals("completed")) {
          completedAt = System.nanoTime();
          break;
        }
        if (status.equals("failed") || status.equals("cancelled")) {
          sent.cancel(true);
          throw new VmmException("live migration of " + spec.name() + " " + status + ": " + info.path("error-desc").asText("") + sinkFailure(sent));
        }
        if (sent.isCompletedExceptionally()) throw cancel(spec, qmp, "the other side stopped taking the stream" + sinkFailure(sent));
        if (System.nanoTime() > deadline) throw cancel(spec, qmp, "it did not finish within " + settings.timeout().toSeconds() + " s");
        var ram = info.path("ram");
        sink.progress(ram.path("transferred").asLong(), ram.path("remaining").asLong());
        Thread.sleep(LIVE_POLL);
      }
      try {
        sent.get(Math.max(1, (deadline - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException e) {
        throw new VmmException("live migration of " + spec.name() + " failed: the other side did not load the stream" + sinkFailure(sent), e);
      }
      var ram = info.path("ram");
      // QEMU's downtime runs from the stop to its completion, which the poll saw at most one interval late.
      long downtime = info.path("downtime").asLong();
      return new MigrationStats(info.path("total-time").asLong(), downtime, ram.path("transferred").asLong(), ram.path("total").asLong(),
          ram.path("dirty-sync-count").asLong(), completedAt - downtime * 1_000_000);
    } catch (IOException e) {
      throw new VmmException("live migration of " + spec.name() + " could not start: " + e.getMessage(), e);
    } finally {
      try {
        Files.deleteIfExists(sock);
      } catch (IOException ignored) {
        // the socket is in the VM's own run directory, which goes with it
      }
    }
  }

  private static String sinkFailure(CompletableFuture<Void> sent) {
    if (!sent.isCompletedExceptionally() || sent.isCancelled()) return "";
    try {
      sent.getNow(null);
      return "";
    } catch (java.util.concurrent.CompletionException e) {
      return " (" + (e.getCause() == null ? e.getMessage() : e.getCause().getMessage()) + ")";
    }
  }

  /** Cancels an outgoing migration and waits until QEMU has let go of the VM (it restarts it itself). */
  private static VmmException cancel(VmSpec spec, QmpClient qmp, String why) throws VmmException, InterruptedException {
    qmp.execute("migrate_cancel", null, QMP_TIMEOUT);
    long deadline = System.nanoTime() + QMP_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      String status = qmp.execute("query-migrate", null, QMP_TIMEOUT).path("status").asText();
      if (status.equals("cancelled") || status.equals("failed") || status.equals("completed")) break;
      Thread.sleep(POLL);
    }
    return new VmmException("live migration of " + spec.name() + " was cancelled: " + why);
  }

  private static void setCapabilities(VmSpec spec, QmpClient qmp) throws VmmException, InterruptedException {
    if (spec.memory().isEmpty()) return;
    // Both sides: the source leaves the file-backed RAM out of the stream, the destination expects that.
    qmp.execute("migrate-set-capabilities", Map.of("capabilities", List.of(Map.of("capability", "x-ignore-shared", "state", true))), QMP_TIMEOUT);
  }

  private static void awaitMigration(VmSpec spec, QmpClient qmp, Duration timeout) throws VmmException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      var info = qmp.execute("query-migrate", null, QMP_TIMEOUT);
      String status = info.path("status").asText();
      if (status.equals("completed")) return;
      if (status.equals("failed") || status.equals("cancelled")) {
        throw new VmmException("migration of " + spec.name() + " " + status + ": " + info.path("error-desc").asText(""));
      }
      if (System.nanoTime() > deadline) throw new VmmException("saving " + spec.name() + " did not finish within " + timeout.toSeconds() + "s");
      Thread.sleep(POLL);
    }
  }

  private static SocketChannel connect(Path sock, long deadline) throws IOException, InterruptedException {
    while (true) {
      try {
        return dev.kiln.host.UnixPeers.connect(sock);
      } catch (java.net.ConnectException | java.nio.file.NoSuchFileException e) {
        if (System.nanoTime() > deadline) throw e;
        Thread.sleep(POLL);
      } catch (java.net.SocketException e) {
        if (System.nanoTime() > deadline || Files.exists(sock)) throw e;
        Thread.sleep(POLL);
      }
    }
  }
}
