package dev.kiln.image.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ManifestDocumentTest {
  private static String desc(String type, char fill, String platform) {
    return "{\"mediaType\":\"" + type + "\",\"digest\":\"sha256:" + String.valueOf(fill).repeat(64) + "\",\"size\":10"
        + (platform == null ? "" : ",\"platform\":" + platform) + "}";
  }

  private static ManifestDocument parse(String json, String contentType) {
    return ManifestDocument.parse(json.getBytes(StandardCharsets.UTF_8), contentType, "test");
  }

  @Test
  void dockerManifestListPicksLinuxAmd64() {
    var index = assertInstanceOf(ManifestDocument.Index.class, parse("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.DOCKER_LIST + "\",\"manifests\":["
        + desc(MediaTypes.DOCKER_MANIFEST, 'a', "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}") + ","
        + desc(MediaTypes.DOCKER_MANIFEST, 'b', "{\"os\":\"linux\",\"architecture\":\"amd64\"}") + "]}", null));
    assertEquals("b".repeat(64), index.select(Descriptor.Platform.LINUX_AMD64, "img").digest().hex());
  }

  @Test
  void indexWithoutLinuxAmd64SaysWhatItOffers() {
    var index = assertInstanceOf(ManifestDocument.Index.class, parse("{\"schemaVersion\":2,\"manifests\":["
        + desc(MediaTypes.OCI_MANIFEST, 'a', "{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}") + ","
        + desc(MediaTypes.OCI_MANIFEST, 'c', "{\"os\":\"windows\",\"architecture\":\"amd64\"}") + "]}", MediaTypes.OCI_INDEX));
    var e = assertThrows(IllegalArgumentException.class, () -> index.select(Descriptor.Platform.LINUX_AMD64, "127.0.0.1:5000/multi:1"));
    assertEquals("image 127.0.0.1:5000/multi:1 has no linux/amd64 manifest (it offers: linux/arm64/v8, windows/amd64)", e.getMessage());
  }

  @Test
  void manifestHasConfigAndLayersInOrder() {
    var m = assertInstanceOf(ManifestDocument.Manifest.class, parse("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"config\":"
        + desc("application/vnd.oci.image.config.v1+json", 'c', null) + ",\"layers\":["
        + desc("application/vnd.oci.image.layer.v1.tar+gzip", '1', null) + "," + desc("application/vnd.oci.image.layer.v1.tar+zstd", '2', null) + "]}", null));
    assertEquals(2, m.layers().size());
    assertEquals("1".repeat(64), m.layers().getFirst().digest().hex());
  }

  @Test
  void refusesSchema1UnknownLayersAndGarbage() {
    assertThrows(IllegalArgumentException.class, () -> parse("{\"schemaVersion\":1}", "application/vnd.docker.distribution.manifest.v1+prettyjws"));
    var e = assertThrows(IllegalArgumentException.class, () -> parse("{\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"config\":"
        + desc("x", 'c', null) + ",\"layers\":[" + desc("application/vnd.cncf.helm.chart.content.v1.tar+gzip", '1', null) + "]}", null));
    assertEquals(true, e.getMessage().contains("not a filesystem layer"));
    assertThrows(IllegalArgumentException.class, () -> parse("not json", null));
    assertThrows(IllegalArgumentException.class, () -> parse("{\"manifests\":[{\"digest\":\"sha256:zz\",\"size\":1}]}", null));
  }
}
