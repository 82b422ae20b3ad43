package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;

/**
 * A guest HTTP server reached directly at the sandbox's address (the floor) and through the port
 * proxy's path route with the access token: small-request latency and large-file rate.
 */
final class ProxyBench {
  private final BenchApi api;
  private final HttpClient http;
  private final BenchReport report;
  private final int rounds;
  private final int fileMib;

  ProxyBench(BenchApi api, HttpClient http, BenchReport report, int rounds, int fileMib) {
    this.api = api;
    this.http = http;
    this.report = report;
    this.rounds = rounds;
    this.fileMib = fileMib;
  }

  void measure(String template, int proxyPort) throws Exception {
    String id = api.create("{\"template\":\"" + template + "\",\"memoryMib\":512,\"network\":{\"mode\":\"internet\"}}");
    api.sh(id, "mkdir -p /tmp/www && echo hi > /tmp/www/index.html && dd if=/dev/urandom of=/tmp/www/big bs=1M count=" + fileMib
        + " 2>/dev/null && httpd -p 8080 -h /tmp/www");
    JsonNode net = api.get("/v1/sandboxes/" + id).path("network");
    String direct = "http://" + net.path("address").asText() + ":8080/";
    String proxied = "http://127.0.0.1:" + proxyPort + "/v1/sandboxes/" + id + "/ports/8080/";
    String token = net.path("accessToken").asText();
    Stats rawGet = new Stats("small GET, direct to the sandbox address (floor)", "ms");
    Stats proxyGet = new Stats("small GET through the port proxy", "ms");
    Stats rawBig = new Stats("large GET, direct (floor)", "MiB/s");
    Stats proxyBig = new Stats("large GET through the port proxy", "MiB/s");
    for (int i = 0; i < rounds * 10; i++) {
      long t0 = System.nanoTime();
      fetch(direct + "index.html", token);
      rawGet.add(Bench.ms(t0));
      t0 = System.nanoTime();
      fetch(proxied + "index.html", token);
      proxyGet.add(Bench.ms(t0));
    }
    for (int i = 0; i < rounds; i++) {
      long t0 = System.nanoTime();
      fetch(direct + "big", token);
      rawBig.add(fileMib / Bench.secs(t0));
      t0 = System.nanoTime();
      fetch(proxied + "big", token);
      proxyBig.add(fileMib / Bench.secs(t0));
    }
    api.delete(id);
    report.line(rawGet);
    report.line(proxyGet);
    report.line(rawBig);
    report.line(proxyBig);
    report.compare("small GET through the port proxy", proxyGet, rawGet);
    report.compare("large GET through the port proxy", proxyBig, rawBig, new Goal.AtLeastTimes(0.9));
  }

  private void fetch(String url, String token) throws Exception {
    BenchApi.readToEnd(http, HttpRequest.newBuilder(URI.create(url)).header("X-Kiln-Access-Token", token).build(), url);
  }
}
