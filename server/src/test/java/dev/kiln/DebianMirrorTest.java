package dev.kiln;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/lib.sh's {@code debian_mirror}, which scripts/build-base-rootfs.sh debootstraps from:
 * the mirror comes from apt's own sources (one-line and deb822), run here against sources of the
 * test's making (APT_CONFIG), and with none it fails naming what to configure. The host names are
 * under .test, which never resolves.
 */
class DebianMirrorTest {
  private static final Path LIB = Path.of(System.getProperty("kiln.repo", ".."), "scripts", "lib.sh").toAbsolutePath();
  @TempDir Path dir;
  private Path lists;

  private record Result(int code, String out, String err) {}

  @BeforeEach
  void aptConfigOfOurOwn() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/apt-get")), "apt-get (Debian) is needed");
    lists = Files.createDirectories(dir.resolve("lists"));
    Files.createDirectories(dir.resolve("sources.list.d"));
    Files.writeString(dir.resolve("apt.conf"), "Dir::Etc::sourcelist \"" + dir.resolve("sources.list") + "\";\n"
        + "Dir::Etc::sourceparts \"" + dir.resolve("sources.list.d") + "\";\nDir::State::lists \"" + lists + "\";\n");
  }

  private Result mirror(String suite) throws Exception {
    Path out = dir.resolve("out");
    Path err = dir.resolve("err");
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", "source \"$1\" && debian_mirror \"$2\"", "test", LIB.toString(), suite)
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().put("APT_CONFIG", dir.resolve("apt.conf").toString());
    Process p = pb.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8).strip(), Files.readString(err, StandardCharsets.UTF_8));
  }

  /** What `apt-get update` leaves for a fetched repository: its Release file (naming its origin) and a Packages index. */
  private void fetched(String listPrefix, String suite, String origin) throws Exception {
    Files.writeString(lists.resolve(listPrefix + "_dists_" + suite + "_Release"), "Origin: " + origin + "\nCodename: " + suite + "\n");
    Files.writeString(lists.resolve(listPrefix + "_dists_" + suite + "_main_binary-amd64_Packages"), "");
  }

  @Test
  void aFetchedDebianEntryWinsOverAnotherVendorsBookwormMain() throws Exception {
    Files.writeString(dir.resolve("sources.list"), """
        # a vendor that also publishes "bookworm main" comes first
        deb [arch=amd64 signed-by=/usr/share/keyrings/vendor.gpg] https://vendor.test/apt bookworm main
        deb http://mirror.test/debian bookworm main contrib
        deb http://mirror.test/debian-security bookworm-security main
        """);
    fetched("vendor.test_apt", "bookworm", "Vendor");
    fetched("mirror.test_debian", "bookworm", "Debian");
    assertEquals(new Result(0, "http://mirror.test/debian/", ""), mirror("bookworm"));
  }

  @Test
  void beforeAptGetUpdateTheFirstEntryNotKnownToBeAnotherVendorsIsTaken() throws Exception {
    Files.writeString(dir.resolve("sources.list"), """
        deb https://vendor.test/apt bookworm main
        deb http://mirror.test/debian bookworm main
        """);
    fetched("vendor.test_apt", "bookworm", "Vendor");
    assertEquals(new Result(0, "http://mirror.test/debian/", ""), mirror("bookworm"));
  }

  @Test
  void deb822SourcesAreReadAndDisabledStanzasSkipped() throws Exception {
    Files.writeString(dir.resolve("sources.list.d").resolve("debian.sources"), """
        Types: deb
        URIs: http://off.test/debian
        Suites: bookworm
        Components: main
        Enabled: no

        Types: deb deb-src
        URIs: http://mirror.test/debian
        Suites: bookworm bookworm-updates
        Components: main contrib
        """);
    assertEquals(new Result(0, "http://mirror.test/debian/", ""), mirror("bookworm"));
  }

  @Test
  void withoutAnEntryForTheSuiteItFailsSayingWhatToAdd() throws Exception {
    Files.writeString(dir.resolve("sources.list"), "deb http://mirror.test/debian-security bookworm-security main\n");
    Result r = mirror("bookworm");
    assertEquals(1, r.code());
    assertEquals("", r.out());
    for (String named : new String[] {"no Debian bookworm mirror", "/etc/apt/sources.list,", "/etc/apt/sources.list.d/*.list", "*.sources",
        "deb <mirror URL> bookworm main", "Suites: bookworm", "apt-get update"}) {
      assertTrue(r.err().contains(named), "the message names " + named + ": " + r.err());
    }
  }
}
