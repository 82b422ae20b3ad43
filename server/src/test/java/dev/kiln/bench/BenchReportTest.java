package dev.kiln.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class BenchReportTest {
  @Test
  void percentilesAreNearestRankAndTheLineShowsThem() {
    Stats s = new Stats("exec", "ms");
    for (int i = 1; i <= 100; i++) s.add(i);
    assertEquals(50.5, s.median());
    assertEquals(90, s.percentile(90));
    assertEquals(99, s.percentile(99));
    assertEquals(100, s.percentile(100));
    assertTrue(s.line().matches("exec\\s+median\\s+50\\.50 ms\\s+\\(n=100, p90 90\\.00, p99 99\\.00, min 1\\.00, max 100\\.00\\)"), s.line());
    Stats few = new Stats("claim", "ms");
    for (double v : new double[] {3, 1, 2}) few.add(v);
    assertEquals(3, few.percentile(99), "with three samples p99 is the largest");
  }

  @Test
  void goalsAreJudgedOnMediansAgainstTheFloor() {
    assertTrue(new Goal.AtMostOver(1).met(10.9, 10));
    assertFalse(new Goal.AtMostOver(1).met(11.1, 10));
    assertTrue(new Goal.AtMostTimes(1.3).met(13, 10));
    assertFalse(new Goal.AtMostTimes(1.1).met(11.5, 10));
    assertTrue(new Goal.AtLeastTimes(0.9).met(91, 100));
    assertFalse(new Goal.AtLeastTimes(0.9).met(89, 100));
  }

  @Test
  void jsonGoesToStandardOutputWithEverySampleAndTheLinesToStandardError() throws Exception {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      BenchReport r = new BenchReport(true);
      r.fact("rounds", 2);
      Stats floor = new Stats("raw exec", "ms");
      Stats kiln = new Stats("api exec", "ms");
      floor.add(8);
      floor.add(10);
      kiln.add(11);
      kiln.add(13);
      r.line(floor);
      r.line(kiln);
      r.note("ratios: something 1.0");
      r.compare("exec round trip", kiln, floor, new Goal.AtMostOver(1));
      r.finish();
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
    JsonNode doc = new ObjectMapper().readTree(o.toString(StandardCharsets.UTF_8));
    assertEquals(2, doc.path("rounds").asInt());
    assertEquals(2, doc.path("measurements").size());
    assertEquals("[11.0,13.0]", doc.path("measurements").get(1).path("samples").toString());
    JsonNode row = doc.path("comparisons").get(0);
    assertEquals(12.0 / 9.0, row.path("ratio").asDouble(), 1e-9);
    assertEquals(3.0, row.path("over").asDouble(), 1e-9);
    assertFalse(row.path("met").asBoolean());
    assertEquals("ratios: something 1.0", doc.path("notes").get(0).asText());
    String lines = e.toString(StandardCharsets.UTF_8);
    assertTrue(lines.contains("api exec") && lines.matches("(?s).*exec round trip\\s+12\\.0 ms\\s+9\\.0 ms\\s+1\\.33\\s+\\+3\\.0 ms\\s+<= floor \\+ 1 ms\\s+MISSED.*"), lines);
  }

  @Test
  void theHostSamplerReadsThisMachinesProc() throws Exception {
    HostSampler h = new HostSampler(Path.of("/proc"));
    assertTrue(h.memAvailableKib() > 0 && h.memAvailableKib() <= h.memTotalKib());
    HostSampler.CpuTime a = h.cpuTime();
    HostSampler.CpuTime b = h.cpuTime();
    assertTrue(b.total() >= a.total() && b.busySince(a) >= 0 && b.busySince(a) <= 1);
    assertEquals(0, h.processes("no process has this in its command line " + System.nanoTime()).count());
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    assertEquals(12 + 34, HostSampler.cpuTicks("123 (qemu (x) y) S 1 2 3 0 -1 4194560 100 0 0 0 12 34 0 0 20 0 5 0 99 0 0"));
    assertEquals(0, HostSampler.cpuTicks("garbage"));
    assertTrue(HostSampler.firstNumber("  2048 kB").getAsLong() == 2048 && HostSampler.firstNumber(" kB").isEmpty());
  }
}
