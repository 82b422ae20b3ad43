package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.image.TemplateSource;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A 1 GiB file up and down. The daemon runs in this JVM, which surefire starts with -Xmx512m: a
 * daemon that held the file (or half of it) on its heap would fail with OutOfMemoryError.
 */
@Tag("system")
class LargeFileSystemTest {
  private static TestHost host;

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.start();
    host.daemon.templates().build("bigdisk", new TemplateSource.Directory(host.dir.resolve("rootfs")), 1400, java.util.Optional.empty());
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  @Test
  void aGibibyteFileRoundTripsThroughADaemonWithAHalfGibibyteHeap() throws Exception {
    long maxHeap = Runtime.getRuntime().maxMemory();
    assertTrue(maxHeap <= 512L << 20, "the bound this test relies on: a heap of at most 512 MiB, got " + (maxHeap >> 20) + " MiB");
    String id = host.createSandbox(Map.of("template", "bigdisk", "memoryMib", 256));
    ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
    FileRoundTrip.check(host, id, "/root/gib.bin", 1L << 30);
    long peak = ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP)
        .mapToLong(p -> p.getPeakUsage().getUsed()).sum();
    System.out.printf("1 GiB round trip: peak heap (sum of pool peaks, garbage included) %d MiB of %d MiB max%n", peak >> 20, maxHeap >> 20);
  }
}
