package dev.kiln;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kiln's guest kernel configuration (guest/kernel/kiln.config) and the check
 * scripts/build-guest-kernel.sh makes of its result (lib.sh's {@code kconfig_lost}): Kconfig drops
 * an option whose dependencies are missing, or keeps one something else selects, without a word.
 */
class GuestKernelConfigTest {
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  private static final Pattern LINE = Pattern.compile("CONFIG_[A-Z0-9_]+=(y|-?[0-9]+|\"[^\"]*\")|# CONFIG_[A-Z0-9_]+ is not set|#( .*)?|");
  @TempDir Path dir;

  private String lost(String fragment, String config) throws Exception {
    Files.writeString(dir.resolve("fragment"), fragment);
    Files.writeString(dir.resolve("config"), config);
    Path out = dir.resolve("out");
    Process p = new ProcessBuilder("bash", "-c", "source \"$1\" && kconfig_lost \"$2\" \"$3\"", "test", REPO.resolve("scripts/lib.sh").toString(),
        dir.resolve("fragment").toString(), dir.resolve("config").toString()).redirectOutput(out.toFile()).redirectErrorStream(false).start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue());
    return Files.readString(out, StandardCharsets.UTF_8);
  }

  @Test
  void everyLineOfTheFragmentIsAnOptionSetOrUnsetOrAComment() throws Exception {
    List<String> lines = Files.readAllLines(REPO.resolve("guest/kernel/kiln.config"));
    for (String line : lines) assertTrue(LINE.matcher(line).matches(), "not a Kconfig line: '" + line + "'");
    assertTrue(lines.contains("CONFIG_HZ_100=y") && lines.contains("CONFIG_VIRTIO_MMIO=y") && lines.contains("CONFIG_VIRTIO_PCI=y"), "the options this test knows are there");
  }

  @Test
  void anOptionLostOrKeptAgainstTheFragmentIsPrintedAndAllKeptPrintsNothing() throws Exception {
    String fragment = "# why\nCONFIG_A=y\nCONFIG_N=64\n# CONFIG_GONE is not set\nCONFIG_S=\"x\"\n";
    assertEquals("", lost(fragment, "CONFIG_A=y\nCONFIG_N=64\n# CONFIG_GONE is not set\nCONFIG_S=\"x\"\nCONFIG_OTHER=y\n"));
    assertEquals("", lost(fragment, "CONFIG_A=y\nCONFIG_N=64\nCONFIG_S=\"x\"\n"), "an unset option may be absent");
    assertEquals("CONFIG_A=y\nCONFIG_N=64\n", lost(fragment, "# CONFIG_A is not set\nCONFIG_N=8\nCONFIG_S=\"x\"\n"));
    assertEquals("# CONFIG_GONE is not set\n", lost(fragment, "CONFIG_A=y\nCONFIG_N=64\nCONFIG_GONE=y\nCONFIG_S=\"x\"\n"), "selected by another option");
    assertEquals("", lost(fragment, "CONFIG_A=y\nCONFIG_N=64\nCONFIG_GONE_TOO=y\nCONFIG_S=\"x\"\n"), "a longer name is another option");
  }
}
