package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Background processes started through the API survive a pause and a daemon restart: the agent
 * session is resumed, the process keeps its pid, and its output is followed again.
 */
@Tag("system")
class ProcessResumeSystemTest extends OneSandboxTest {
  private static final Pattern TICK = Pattern.compile("tick-(\\d+)");

  private static String stdout(long pid) throws Exception {
    HttpResponse<String> r = host.http.send(HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/output?cursor=0"))
        .header("Authorization", "Bearer " + host.key).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    StringBuilder b = new StringBuilder();
    for (String line : r.body().split("\n")) {
      JsonNode j = TestHost.JSON.readTree(line);
      if (j.path("type").asText().equals("output")) b.append(new String(Base64.getDecoder().decode(j.path("data").asText()), StandardCharsets.UTF_8));
    }
    return b.toString();
  }

  private static int lastTick(long pid) throws Exception {
    Matcher m = TICK.matcher(stdout(pid));
    int last = -1;
    while (m.find()) last = Integer.parseInt(m.group(1));
    return last;
  }

  private static JsonNode process(long pid) throws Exception {
    return host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/" + pid, null).json();
  }

  @Test
  void aBackgroundProcessOutlivesAPauseAndADaemonRestartAndIsFollowedAgain() throws Exception {
    TestHost.Reply started = host.call("POST", "/v1/sandboxes/" + sandbox + "/processes",
        Map.of("command", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done"));
    assertEquals(201, started.status(), started.raw());
    long pid = started.json().path("pid").asLong();
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> lastTick(pid) >= 3);

    assertEquals(200, host.call("POST", "/v1/sandboxes/" + sandbox + "/pause", null).status());
    int beforePause = lastTick(pid);
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + sandbox + "/resume", null).status());
    assertEquals("running", process(pid).path("status").asText(), process(pid).toString());
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> lastTick(pid) >= beforePause + 5);
    assertTrue(stdout(pid).startsWith("tick-0\n"), "the output kept before the pause is still there");

    host.stopDaemonOnly();
    host.boot();
    JsonNode adopted = process(pid);
    assertEquals("running", adopted.path("status").asText(), adopted.toString());
    assertTrue(adopted.path("adopted").asBoolean(), "the new daemon found it running: " + adopted);
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> lastTick(pid) > beforePause + 5);

    host.call("POST", "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/signal", Map.of("signal", "KILL"));
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> process(pid).path("status").asText().equals("exited"));
    assertEquals(9, process(pid).path("signal").asInt());
  }

  @Test
  void pausingWhileOutputStreamsLeavesAWorkingChannel() throws Exception {
    // A channel paused mid-stream can hold the tail of the old session's frames; the new session
    // must find its own start behind them.
    TestHost.Reply started = host.call("POST", "/v1/sandboxes/" + sandbox + "/processes", Map.of("command", "yes streaming-output-line"));
    long pid = started.json().path("pid").asLong();
    for (int round = 0; round < 3; round++) {
      long before = process(pid).path("outputBytes").asLong();
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> process(pid).path("outputBytes").asLong() > before + (1 << 20));
      assertEquals(200, host.call("POST", "/v1/sandboxes/" + sandbox + "/pause", null).status());
      TestHost.Reply resumed = host.call("POST", "/v1/sandboxes/" + sandbox + "/resume", null);
      assertEquals(200, resumed.status(), resumed.raw());
      TestHost.Reply echo = host.call("POST", "/v1/sandboxes/" + sandbox + "/exec", Map.of("command", "echo still-here"));
      assertEquals("still-here\n", echo.json().path("stdout").asText(), echo.raw());
      assertEquals("running", process(pid).path("status").asText());
    }
    host.call("POST", "/v1/sandboxes/" + sandbox + "/processes/" + pid + "/signal", Map.of("signal", "KILL"));
  }
}
