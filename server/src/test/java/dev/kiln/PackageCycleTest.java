package dev.kiln;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Walks the imports of the main sources: no package cycles, and Jetty only in api. */
class PackageCycleTest {
  private static final Pattern IMPORT = Pattern.compile("(?m)^import (?:static )?(dev\\.kiln\\.[a-z][a-z0-9]*)\\.");
  private static final Path MAIN = Path.of(System.getProperty("kiln.repo", ".."), "server/src/main/java/dev/kiln");

  private static Map<String, Set<String>> graph() throws Exception {
    Map<String, Set<String>> deps = new TreeMap<>();
    try (Stream<Path> files = Files.walk(MAIN)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String pkg = "dev.kiln." + MAIN.relativize(f.getParent()).toString().replace('/', '.');
        Set<String> out = deps.computeIfAbsent(pkg, k -> new TreeSet<>());
        String src = Files.readString(f);
        Matcher m = IMPORT.matcher(src);
        while (m.find()) if (!m.group(1).equals(pkg)) out.add(m.group(1));
        // fully qualified uses such as dev.kiln.image.TemplateSource.Directory count too
        Matcher q = Pattern.compile("\\b(dev\\.kiln\\.[a-z][a-z0-9]*)\\.[A-Z]").matcher(src.replaceAll("(?m)^(package|import) .*$", ""));
        while (q.find()) if (!q.group(1).equals(pkg)) out.add(q.group(1));
      }
    }
    return deps;
  }

  @Test
  void noCycles() throws Exception {
    Map<String, Set<String>> g = graph();
    List<String> cycles = new ArrayList<>();
    for (String start : g.keySet()) {
      Set<String> seen = new HashSet<>();
      List<String> stack = new ArrayList<>(g.getOrDefault(start, Set.of()));
      while (!stack.isEmpty()) {
        String p = stack.removeLast();
        if (p.equals(start)) {
          cycles.add(start);
          break;
        }
        if (seen.add(p)) stack.addAll(g.getOrDefault(p, Set.of()));
      }
    }
    assertTrue(g.size() > 5, "found the sources at " + MAIN);
    assertEquals(List.of(), cycles, "packages on a dependency cycle; graph: " + g);
  }

  @Test
  void jettyOnlyInApi() throws Exception {
    Map<String, Boolean> jetty = new HashMap<>();
    try (Stream<Path> files = Files.walk(MAIN)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        if (Files.readString(f).contains("import org.eclipse.jetty")) jetty.put(MAIN.relativize(f).toString(), true);
      }
    }
    jetty.keySet().forEach(f -> assertTrue(f.startsWith("api/"), f + " imports Jetty outside the api package"));
  }
}
