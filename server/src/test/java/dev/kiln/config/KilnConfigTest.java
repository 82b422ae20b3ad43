package dev.kiln.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.vmm.Accelerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KilnConfigTest {
  private static final Pattern JAVA_NAME = Pattern.compile("\\b(java|javax|dev\\.kiln|com\\.fasterxml|org\\.eclipse)\\.[a-z]|Exception\\b|\\$[A-Z]|`");
  @TempDir Path dir;

  private String refused(String json) throws Exception {
    Path f = Files.writeString(dir.resolve("c.json"), json);
    ConfigException e = assertThrows(ConfigException.class, () -> KilnConfig.load(f));
    assertFalse(JAVA_NAME.matcher(e.getMessage()).find(), e.getMessage());
    return e.getMessage().replace(f.toString(), "<file>");
  }

  @Test
  void emptyFileGivesDefaults() throws Exception {
    Path f = Files.writeString(dir.resolve("c.json"), "{}");
    KilnConfig c = KilnConfig.load(f);
    assertEquals("127.0.0.1:7788", c.listen());
    assertEquals(300, c.sandboxDefaults().timeoutSeconds());
    assertEquals(120, c.bootTimeoutSeconds());
    assertEquals(86_400, c.tombstoneRetentionSeconds());
  }

  @Test
  void unknownKeyIsAnErrorNamingItAndTheKnownKeys() throws Exception {
    String m = refused("{\"listn\": \"0.0.0.0:1\"}");
    assertTrue(m.startsWith("unknown key 'listn' in <file> (known keys: accelerator, bootTimeoutSeconds, builds, cluster, dataDir, database, devMode, e2b, guestArtifacts, "), m);
    assertTrue(m.contains(" listen,"), m);
    assertEquals("unknown key 'network.prefx' in <file> (known keys under 'network': addressPool, defaultMode, dnsPort, dnsUpstreams, enabled, "
        + "forwardBind, prefix, prewarmed, proxyDomain, proxyListen)", refused("{\"network\": {\"prefx\": \"k2\"}}"));
  }

  @Test
  void aValueOfTheWrongTypeNamesItsKey() throws Exception {
    assertEquals("key 'bootTimeoutSeconds' in <file> must be an integer, got a string (\"5\")", refused("{\"bootTimeoutSeconds\": \"5\"}"));
    assertEquals("key 'templateSnapshots' in <file> must be true or false, got a string (\"yes\")", refused("{\"templateSnapshots\": \"yes\"}"));
    assertEquals("key 'insecureRegistries' in <file> must be an array, got a string (\"a:5000\")", refused("{\"insecureRegistries\": \"a:5000\"}"));
    assertEquals("key 'accelerator' in <file> must be one of AUTO, KVM, TCG, got a string (\"kvmm\")", refused("{\"accelerator\": \"kvmm\"}"));
    assertEquals("config file <file> must be a JSON object, got an array", refused("[]"));
    assertTrue(refused("{\"listen\": ").startsWith("config file <file> is not valid JSON: Unexpected end-of-input"));
  }

  @Test
  void rangesAreChecked() throws Exception {
    assertEquals("config file <file>: sandboxDefaults.vcpus must be 1..64, got 0",
        refused("{\"sandboxDefaults\": {\"vcpus\": 0, \"memoryMib\": 512, \"timeoutSeconds\": 1}}"));
    assertEquals("config file <file>: tombstoneRetentionSeconds must be 0..2592000 (30 days), got -1", refused("{\"tombstoneRetentionSeconds\": -1}"));
  }

  @Test
  void theDatabaseIsTheSqliteFileUnlessAPostgresqlUrlIsGiven() throws Exception {
    assertFalse(KilnConfig.load(Files.writeString(dir.resolve("c.json"), "{}")).database().postgresql());
    DatabaseConfig pg = KilnConfig.load(Files.writeString(dir.resolve("c.json"),
        "{\"database\": {\"url\": \"jdbc:postgresql://db:5432/kiln\", \"user\": \"kiln\", \"passwordFile\": \"/etc/kiln/db-password\"}}")).database();
    assertEquals(new DatabaseConfig("jdbc:postgresql://db:5432/kiln", "kiln", Path.of("/etc/kiln/db-password"), 8), pg);
    assertTrue(pg.postgresql());
    String m = refused("{\"database\": {\"url\": \"jdbc:postgresql://db/kiln?user=kiln&password=hunter2\", \"user\": \"kiln\"}}");
    assertEquals("config file <file>: database.url must not carry a password (the url is logged); put it in the file named by database.passwordFile", m);
    assertEquals(m, refused("{\"database\": {\"url\": \"jdbc:postgresql://db/kiln?ssl=true&sslpassword=k\", \"user\": \"kiln\"}}"));
    assertEquals("config file <file>: database.url must start with jdbc:postgresql:// (leave it out for the SQLite file in the data directory), "
        + "got 'jdbc:mysql://db/kiln'", refused("{\"database\": {\"url\": \"jdbc:mysql://db/kiln\", \"user\": \"kiln\"}}"));
    assertEquals("config file <file>: database.user is needed with database.url", refused("{\"database\": {\"url\": \"jdbc:postgresql://db/kiln\"}}"));
    assertEquals("config file <file>: database.user and database.passwordFile need database.url (the SQLite file has no users)",
        refused("{\"database\": {\"user\": \"kiln\"}}"));
  }

  @Test
  void enumValuesInAnyCase() throws Exception {
    assertEquals(Accelerator.Choice.TCG, KilnConfig.load(Files.writeString(dir.resolve("c.json"), "{\"accelerator\": \"tcg\"}")).accelerator());
  }

  @Test
  void aMissingFileSaysSo() {
    ConfigException e = assertThrows(ConfigException.class, () -> KilnConfig.load(dir.resolve("none.json")));
    assertEquals("config file " + dir.resolve("none.json") + " does not exist", e.getMessage());
  }

  @Test
  void noObjectStoreMeansLocalFilesAndABucketTurnsItOn() throws Exception {
    assertFalse(KilnConfig.defaults().objectStore().enabled());
    Path f = Files.writeString(dir.resolve("c.json"), """
        {"objectStore": {"bucket": "kiln-artifacts", "endpoint": "http://10.0.0.5:9000", "prefix": "prod/", "credentialsFile": "/etc/kiln/s3"}}""");
    ObjectStoreConfig o = KilnConfig.load(f).objectStore();
    assertTrue(o.enabled());
    assertEquals("us-east-1", o.region());
    assertTrue(o.pathStyle(), "path-style by default with an endpoint");
    assertEquals(32, o.cacheGib());
    assertEquals(Path.of("/etc/kiln/s3"), o.credentialsFile());
  }

  @Test
  void objectStoreMistakesNameTheKey() throws Exception {
    assertEquals("config file <file>: objectStore.bucket is missing: the other objectStore keys only apply to a bucket",
        refused("{\"objectStore\": {\"endpoint\": \"http://s3:9000\"}}"));
    assertEquals("config file <file>: objectStore.endpoint must be an http:// or https:// URL with a host, got 's3:9000'",
        refused("{\"objectStore\": {\"bucket\": \"kiln\", \"endpoint\": \"s3:9000\"}}"));
    assertEquals("config file <file>: objectStore.bucket must be an S3 bucket name (3..63 of a-z, 0-9, '.', '-'), got 'Kiln_Bucket'",
        refused("{\"objectStore\": {\"bucket\": \"Kiln_Bucket\"}}"));
    assertEquals("config file <file>: objectStore.prefix must be \"\" or key segments each ending with '/' (\"kiln/prod/\"), got '../x/'",
        refused("{\"objectStore\": {\"bucket\": \"kiln\", \"prefix\": \"../x/\"}}"));
  }
}
