package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Needs root (it gives directories to other uids), as the daemon does. */
class VmmIdentitiesTest {
  @TempDir
  Path runs;

  @Test
  void eachRunDirectoryGetsItsOwnUidOwnedOnlyByItAndKeepsItUntilItIsGone() throws Exception {
    VmmIdentities ids = new VmmIdentities(3_900_000, 3_900_002, OptionalInt.of(1234));
    VmmIdentity a = ids.claim(runs.resolve("a"));
    VmmIdentity b = ids.claim(runs.resolve("b"));
    assertNotEquals(a.uid(), b.uid());
    assertEquals(a.uid(), VmmIdentities.groupOf(runs.resolve("a")));
    assertEquals(0, VmmIdentities.ownerOf(runs.resolve("a")), "root's, so the VM cannot unlink what the daemon writes there");
    assertEquals(01770, (Integer) Files.getAttribute(runs.resolve("a"), "unix:mode") & 07777);
    assertEquals(a.uid(), ids.claim(runs.resolve("a")).uid(), "a resumed VM in the same directory keeps its uid");
    VmmIdentity c = ids.claim(runs.resolve("c"));
    assertThrows(VmmException.class, () -> ids.claim(runs.resolve("d")), "three uids, three directories");

    Files.delete(runs.resolve("b"));
    VmmIdentity d = ids.claim(runs.resolve("d"));
    assertEquals(b.uid(), d.uid(), "a uid is free again once its directory is gone");
    assertTrue(List.of(a.uid(), c.uid(), d.uid()).stream().distinct().count() == 3);
  }

  @Test
  void aRestartedDaemonTakesBackWhatTheDirectoriesSayAndReusesNothingOfIt() throws Exception {
    VmmIdentities before = new VmmIdentities(3_900_010, 3_900_011, OptionalInt.empty());
    VmmIdentity a = before.claim(runs.resolve("a"));
    VmmIdentities after = new VmmIdentities(3_900_010, 3_900_011, OptionalInt.empty());
    after.recover(List.of(runs), Path.of("/proc"));
    assertEquals(a.uid(), after.claim(runs.resolve("a")).uid());
    VmmIdentity b = after.claim(runs.resolve("b"));
    assertNotEquals(a.uid(), b.uid(), "the recovered claim is not handed out again");
    assertEquals(2, after.taken());
  }

  @Test
  void aReleasedUidIsTheLastToBeReused() throws Exception {
    VmmIdentities ids = new VmmIdentities(3_900_020, 3_900_022, OptionalInt.empty());
    VmmIdentity a = ids.claim(runs.resolve("a"));
    Files.delete(runs.resolve("a"));
    VmmIdentity b = ids.claim(runs.resolve("b"));
    assertNotEquals(a.uid(), b.uid(), "handed out in turn");
  }

  @Test
  void badRangesAreRefusedNamingTheForm() {
    var e = assertThrows(IllegalArgumentException.class, () -> VmmIdentities.parse("3000000", OptionalInt.empty()));
    assertTrue(e.getMessage().contains("FIRST-LAST"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> VmmIdentities.parse("0-10", OptionalInt.empty()));
    assertThrows(IllegalArgumentException.class, () -> VmmIdentities.parse("5000-4000", OptionalInt.empty()));
  }
}
