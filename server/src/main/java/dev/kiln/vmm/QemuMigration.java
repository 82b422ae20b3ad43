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
import java.nio.file.attribute.UserPrincipal;
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
  private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);

  private QemuMigration() {}

  /** Pauses the VM and writes its state to {@code target} (temp, fsync, rename). The VM stays paused. */
  static SavedState save(VmSpec spec, QmpClient qmp, Optional<VmmUser> user, Path target, Duration timeout)
      throws VmmException, InterruptedException {
    Path sock = spec.migrationSocket();
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      Files.createDirectories(target.toAbsolutePath().getParent());
      Files.deleteIfExists(sock);
      server.bind(UnixDomainSocketAddress.of(sock));
      if (user.isPresent()) {
        UserPrincipal owner = sock.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(user.get().name());
        Files.setOwner(sock, owner); // QEMU, running as that user, must be able to connect
      }
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      CompletableFuture<Long> copied = new CompletableFuture<>();
      Thread.ofVirtual().name("migrate-out-" + spec.name()).start(() -> {
        try (SocketChannel in = server.accept(); FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
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

  /** Feeds a saved state to a VM started with {@code -incoming defer}; the VM stays paused. */
  static void restore(VmSpec spec, QmpClient qmp, Path state, Duration timeout) throws VmmException, InterruptedException {
    setCapabilities(spec, qmp);
    Path sock = spec.migrationSocket();
    qmp.execute("migrate-incoming", Map.of("uri", "unix:" + sock), QMP_TIMEOUT);
    long deadline = System.nanoTime() + timeout.toNanos();
    try (SocketChannel ch = connect(sock, deadline); InputStream in = Files.newInputStream(state);
         OutputStream out = Channels.newOutputStream(ch)) {
      in.transferTo(out);
    } catch (IOException e) {
      throw new VmmException("sending the saved state to " + spec.name() + " failed: " + e.getMessage(), e);
    }
    while (true) {
      String status = qmp.execute("query-status", null, QMP_TIMEOUT).path("status").asText();
      if (status.equals("paused") || status.equals("postmigrate")) break;
      if (!status.equals("inmigrate")) throw new VmmException("restoring " + spec.name() + " failed: the VM is '" + status + "' after loading its state");
      if (System.nanoTime() > deadline) throw new VmmException("restoring " + spec.name() + " did not finish within " + timeout.toSeconds() + "s");
      Thread.sleep(POLL);
    }
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
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
          ch.connect(UnixDomainSocketAddress.of(sock));
          return ch;
        } catch (IOException e) {
          ch.close();
          throw e;
        }
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
