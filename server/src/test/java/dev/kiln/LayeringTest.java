package dev.kiln;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The module table in docs/DESIGN.md is the rule: every package of the server, sub-packages
 * included, has a row, and uses no package its "depends on" column does not name ("all of the
 * above": any package of an earlier row). An edge the table does not allow fails here, so the map
 * and the code cannot drift apart.
 */
class LayeringTest {
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  private static final Path MAIN = REPO.resolve("server/src/main/java/dev/kiln");
  /** A row: | `pkg` | what it owns | `dep`, `dep` |, or | `a`, `b` | … | … | for two packages with one rule. */
  private static final Pattern ROW = Pattern.compile("(?m)^\\| (`[a-z0-9.]+`(?:, `[a-z0-9.]+`)*) \\| .* \\| ([^|]*) \\|$");
  private static final Pattern NAME = Pattern.compile("`([a-z0-9.]+)`");
  /** A use of another package: an import or a qualified name, dev.kiln.<package>.<Type>. */
  private static final Pattern USE = Pattern.compile("\\bdev\\.kiln\\.((?:[a-z][a-z0-9]*\\.)*[a-z][a-z0-9]*)\\.[A-Z]");

  static Map<String, Set<String>> allowed() throws Exception {
    String design = Files.readString(REPO.resolve("docs/DESIGN.md"));
    String table = design.substring(design.indexOf("Packages of `server/`"), design.indexOf("## Data layout"));
    Map<String, Set<String>> rules = new LinkedHashMap<>();
    Matcher row = ROW.matcher(table);
    while (row.find()) {
      Set<String> deps = new TreeSet<>();
      if (row.group(2).contains("all of the above")) deps.addAll(rules.keySet());
      Matcher d = NAME.matcher(row.group(2));
      while (d.find()) deps.add(d.group(1));
      Matcher p = NAME.matcher(row.group(1));
      while (p.find()) rules.put(p.group(1), deps);
    }
    return rules;
  }

  static Map<String, Set<String>> uses() throws Exception {
    Map<String, Set<String>> uses = new TreeMap<>();
    try (Stream<Path> files = Files.walk(MAIN)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String pkg = MAIN.relativize(f.getParent()).toString().replace('/', '.');
        Set<String> out = uses.computeIfAbsent(pkg, k -> new TreeSet<>());
        Matcher m = USE.matcher(Files.readString(f).replaceAll("(?m)^package .*$", ""));
        while (m.find()) if (!m.group(1).equals(pkg)) out.add(m.group(1));
      }
    }
    return uses;
  }

  @Test
  void everyPackageUsesOnlyWhatTheModuleTableAllows() throws Exception {
    Map<String, Set<String>> rules = allowed();
    Map<String, Set<String>> uses = uses();
    assertTrue(rules.size() > 10 && uses.size() > 10, "read the table (" + rules.size() + " rows) and the sources (" + uses.size() + " packages)");
    List<String> wrong = new ArrayList<>();
    uses.forEach((pkg, used) -> {
      Set<String> ok = rules.get(pkg);
      if (ok == null) {
        wrong.add("package " + pkg + " has no row in docs/DESIGN.md's module table");
        return;
      }
      for (String u : used) if (!ok.contains(u)) wrong.add(pkg + " uses " + u + ", which its row does not allow");
    });
    assertEquals(List.of(), wrong, "docs/DESIGN.md's module table and the code disagree: change the code, or the table with a reason");
  }

  /** What only the QEMU backend may name: its classes, its disk format, its control protocol. */
  private static final Pattern BACKEND_DETAIL = Pattern.compile("\\bdev\\.kiln\\.vmm\\.(Qemu\\w*|Qmp\\w*|Overlay)\\b|\\.qcow2\\b|\\bqmp\\b|\\bblockdev");

  /**
   * The sandbox service talks to VMs only through the backend-neutral part of vmm (VmmBackend,
   * RunningVm, VmSpec, VmImage, DiskLayers…): a second backend must not need a change there.
   * Comments may name QEMU; code may not use its classes, files or protocol.
   */
  @Test
  void theSandboxServiceNamesNoBackendDetail() throws Exception {
    List<String> wrong = new ArrayList<>();
    try (Stream<Path> files = Files.walk(MAIN.resolve("sandbox"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String code = Files.readString(f).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("(?m)//.*$", "");
        Matcher m = BACKEND_DETAIL.matcher(code);
        while (m.find()) wrong.add(MAIN.relativize(f) + ": " + m.group());
      }
    }
    assertEquals(List.of(), wrong, "sandbox/ uses a backend detail; move it behind VmmBackend or RunningVm");
  }
}
