package dev.kiln.system;

import dev.kiln.host.CommandRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * "The internet" for network tests, all on this machine: a namespace of its own behind a veth from
 * the host, holding 198.51.100.2 and .3 (TEST-NET-2, a documentation range: nothing real answers
 * there), with busybox httpd on port 80 serving a greeting, and a 5 MiB file. Sandboxes reach it as they would reach the internet: NAT out of a host interface that is
 * not a sandbox veth.
 */
final class TestInternet implements AutoCloseable {
  static final String SERVER = "198.51.100.2";
  static final String OTHER_SERVER = "198.51.100.3";
  /** The same server at a private address: what a DNS-rebinding name would point a sandbox at. */
  static final String PRIVATE_SERVER = "192.168.77.2";
  static final String GREETING = "hello from the test internet";
  static final int BIG_BYTES = 5 << 20;
  private static final String NS = "ktinet";
  private static final String HOST_VETH = "ktinet0";
  private final Path www;
  private Process httpd;

  private TestInternet(Path www) {
    this.www = www;
  }

  static TestInternet start(Path dir) throws Exception {
    cleanup();
    Path www = dir.resolve("www");
    Files.createDirectories(www);
    Files.writeString(www.resolve("index.html"), GREETING + "\n");
    Files.write(www.resolve("big"), new byte[BIG_BYTES]);
    TestInternet t = new TestInternet(www);
    run("ip", "netns", "add", NS);
    run("ip", "link", "add", HOST_VETH, "type", "veth", "peer", "name", "eth0", "netns", NS);
    run("ip", "addr", "add", "198.51.100.1/24", "dev", HOST_VETH);
    run("ip", "link", "set", HOST_VETH, "up");
    run("ip", "-n", NS, "addr", "add", SERVER + "/24", "dev", "eth0");
    run("ip", "-n", NS, "addr", "add", OTHER_SERVER + "/24", "dev", "eth0");
    run("ip", "-n", NS, "addr", "add", PRIVATE_SERVER + "/24", "dev", "eth0");
    run("ip", "route", "add", "192.168.77.0/24", "dev", HOST_VETH);
    run("ip", "-n", NS, "link", "set", "eth0", "up");
    run("ip", "-n", NS, "link", "set", "lo", "up");
    t.httpd = new ProcessBuilder("ip", "netns", "exec", NS, "busybox", "httpd", "-f", "-p", "80", "-h", www.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("httpd.log").toFile()).start();
    return t;
  }

  private static void run(String... argv) {
    CommandRunner.run(List.of(argv), Duration.ofSeconds(20));
  }

  private static void cleanup() {
    CommandRunner.runAllowingFailure(List.of("ip", "netns", "del", NS), Duration.ofSeconds(20));
    CommandRunner.runAllowingFailure(List.of("ip", "link", "del", HOST_VETH), Duration.ofSeconds(20));
  }

  @Override
  public void close() {
    if (httpd != null) {
      httpd.descendants().forEach(ProcessHandle::destroyForcibly);
      httpd.destroyForcibly();
    }
    cleanup();
  }
}
