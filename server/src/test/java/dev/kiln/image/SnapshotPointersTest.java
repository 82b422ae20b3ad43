package dev.kiln.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.store.Database;
import dev.kiln.store.TemplateRepository;
import dev.kiln.store.TemplateRow;
import dev.kiln.store.TemplateSnapshotIds;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A template's current snapshot recorded in its row (a real SQLite store), switched by
 * compare-and-set, and the pointer files of a daemon before the columns taken over: every format
 * they were written in, a crash between recording and deleting, a file of a deleted template, and
 * one that cannot be read.
 */
class SnapshotPointersTest {
  @TempDir Path data;
  private Database db;
  private TemplateRepository rows;
  private Artifacts artifacts;
  private SnapshotPointers pointers;

  static TemplateRow row(String name) {
    Instant now = Instant.now();
    return new TemplateRow(name, "READY", "dir:/x", Optional.of("/x.ext4"), OptionalLong.empty(), Optional.empty(), now, now, Optional.empty(),
        Optional.empty(), 256, "MICROVM", "");
  }

  @BeforeEach
  void open() throws Exception {
    db = Database.open(data.resolve("kiln.db"));
    rows = new TemplateRepository(db);
    artifacts = new Artifacts(data);
    pointers = new SnapshotPointers(data, rows, artifacts);
    rows.upsert(row("t"));
  }

  @AfterEach
  void close() {
    db.close();
  }

  private Path snapshot() throws IOException {
    Path b = artifacts.building(Artifacts.Kind.SNAPSHOT);
    Files.writeString(b.resolve("manifest.json"), "{}");
    Path a = artifacts.publish(b);
    artifacts.recorded(a);
    return a;
  }

  private Path pointerFile(String template, boolean network, String json) throws IOException {
    Path f = data.resolve("templates").resolve(template).resolve(network ? "snapshot-net.json" : "snapshot.json");
    Files.createDirectories(f.getParent());
    Files.writeString(f, json);
    return f;
  }

  @Test
  void aSnapshotTakenOverAnotherThatBecameCurrentMeanwhileIsNotRecorded() throws Exception {
    Path first = snapshot();
    Path mine = snapshot();
    Path theirs = snapshot();
    assertEquals(Optional.empty(), pointers.current("t", false));
    assertTrue(pointers.point("t", false, Optional.empty(), first));
    Optional<Path> before = pointers.current("t", false);
    assertTrue(pointers.point("t", false, before, theirs), "another node replaced the one both read");
    assertFalse(pointers.point("t", false, before, mine));
    assertEquals(Optional.of(theirs), pointers.current("t", false));
    assertEquals(Optional.empty(), pointers.current("t", true), "the variant with a network device is apart");
    assertFalse(pointers.point("gone", false, Optional.empty(), mine), "no such template");
  }

  @Test
  void pointerFilesOfEveryFormatAreTakenOverAndDeleted() throws Exception {
    Path withId = snapshot();
    Path dirOnly = snapshot();
    Path a = pointerFile("t", false, "{\"id\":\"" + withId.getFileName() + "\",\"dir\":\"" + withId + "\"}");
    // From before ids, written on another node's data directory: the same artifact here.
    Path b = pointerFile("t", true, "{\"dir\":\"/elsewhere/data/artifacts/snapshots/" + dirOnly.getFileName() + "\"}");
    pointers.takeOverFiles();
    assertEquals(Optional.of(new TemplateSnapshotIds(Optional.of(withId.getFileName().toString()), Optional.of(dirOnly.getFileName().toString()))),
        rows.snapshots("t"));
    assertFalse(Files.exists(a) || Files.exists(b));
    assertEquals(Optional.of(withId), pointers.current("t", false));
    assertEquals(Optional.of(dirOnly), pointers.current("t", true));
  }

  @Test
  void aFileWhoseColumnIsSetAlreadyOrWhoseTemplateIsGoneIsDeletedAndChangesNothing() throws Exception {
    Path recorded = snapshot();
    Path stale = snapshot();
    assertTrue(pointers.point("t", false, Optional.empty(), recorded));
    // A crash after the column was written and before the file was deleted; or another node recorded its snapshot first.
    Path left = pointerFile("t", false, "{\"id\":\"" + stale.getFileName() + "\"}");
    Path orphan = pointerFile("deleted", false, "{\"id\":\"" + stale.getFileName() + "\"}");
    pointers.takeOverFiles();
    assertEquals(Optional.of(recorded), pointers.current("t", false));
    assertFalse(Files.exists(left) || Files.exists(orphan));
    assertEquals(Optional.empty(), rows.snapshots("deleted"), "no row is made for it");
  }

  @Test
  void aFileThatCannotBeReadStaysAndKeepsCollectionFromGuessingTheOthersAreTakenOver() throws Exception {
    Path s = snapshot();
    Path torn = pointerFile("t", true, "{\"di");
    Path noArtifact = pointerFile("u", false, "{\"dir\":\"/var/lib/elsewhere/snapshot\"}");
    rows.upsert(row("u"));
    Path good = pointerFile("t", false, "{\"id\":\"" + s.getFileName() + "\"}");
    IOException e = assertThrows(IOException.class, pointers::takeOverFiles);
    assertTrue(e.getMessage().contains(torn + " is not JSON"), e.getMessage());
    assertTrue(e.getMessage().contains(noArtifact + " names /var/lib/elsewhere/snapshot, which is no snapshot artifact"), e.getMessage());
    assertTrue(Files.exists(torn) && Files.exists(noArtifact));
    assertFalse(Files.exists(good));
    assertEquals(Optional.of(s), pointers.current("t", false));
    assertThrows(IOException.class, pointers::all);
    Files.delete(torn);
    Files.delete(noArtifact);
    assertEquals(java.util.Set.of(s), pointers.all());
  }
}
