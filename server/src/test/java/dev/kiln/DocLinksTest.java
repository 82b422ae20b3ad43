package dev.kiln;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every relative link in the repository's Markdown (README.md, docs/, guest/, …) points to a file
 * or directory that exists, and a {@code #fragment} into a Markdown file to one of its headings
 * (named as GitHub names them: lower case, punctuation dropped, spaces to hyphens, repeats
 * numbered). Links to other sites are not followed.
 */
class DocLinksTest {
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  /** [text](target) and ![alt](target), with an optional "title"; reference definitions [id]: target. */
  private static final Pattern INLINE = Pattern.compile("!?\\[(?:[^\\[\\]]|\\[[^\\]]*\\])*\\]\\(\\s*<?([^)\\s>]+)>?(?:\\s+\"[^\"]*\")?\\s*\\)");
  private static final Pattern REFERENCE = Pattern.compile("(?m)^ {0,3}\\[[^\\]]+\\]:\\s*<?(\\S+?)>?(?:\\s+\"[^\"]*\")?\\s*$");
  private static final Pattern HEADING = Pattern.compile("(?m)^ {0,3}#{1,6}\\s+(.*?)\\s*#*\\s*$");
  private static final Pattern HTML_ANCHOR = Pattern.compile("<a\\s+(?:name|id)=\"([^\"]+)\"");
  private static final Pattern SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*:");
  private static final Set<String> SKIPPED_DIRS = Set.of(".git", "target", "build", "node_modules");

  /**
   * The repository's markdown files. Skipped directories are not entered at all: build/ may hold a
   * root filesystem being debootstrapped (with its own /proc mounted) by a test running beside this one.
   */
  static List<Path> markdownFiles() throws IOException {
    List<Path> found = new java.util.ArrayList<>();
    Files.walkFileTree(REPO, new java.nio.file.SimpleFileVisitor<>() {
      @Override
      public java.nio.file.FileVisitResult preVisitDirectory(Path dir, java.nio.file.attribute.BasicFileAttributes a) {
        return !dir.equals(REPO) && SKIPPED_DIRS.contains(dir.getFileName().toString()) ? java.nio.file.FileVisitResult.SKIP_SUBTREE
            : java.nio.file.FileVisitResult.CONTINUE;
      }

      @Override
      public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes a) {
        if (a.isRegularFile() && file.toString().endsWith(".md")) found.add(file);
        return java.nio.file.FileVisitResult.CONTINUE;
      }
    });
    return found.stream().sorted().toList();
  }

  /** The text with fenced code blocks and code spans blanked: what they hold is not a link. */
  static String withoutCode(String md) {
    StringBuilder out = new StringBuilder();
    boolean fenced = false;
    for (String line : md.split("\n", -1)) {
      if (line.strip().startsWith("```") || line.strip().startsWith("~~~")) {
        fenced = !fenced;
        out.append('\n');
        continue;
      }
      out.append(fenced ? "" : line.replaceAll("`[^`]*`", "``")).append('\n');
    }
    return out.toString();
  }

  /** The anchors GitHub gives a Markdown file's headings, and its explicit HTML anchors. */
  static Set<String> anchors(String md) {
    Set<String> out = new HashSet<>();
    Map<String, Integer> seen = new HashMap<>();
    String text = md.replaceAll("(?ms)^```.*?^```", "");
    Matcher h = HEADING.matcher(text);
    while (h.find()) {
      String slug = slug(h.group(1));
      int n = seen.merge(slug, 1, Integer::sum) - 1;
      out.add(n == 0 ? slug : slug + "-" + n);
    }
    Matcher a = HTML_ANCHOR.matcher(md);
    while (a.find()) out.add(a.group(1));
    return out;
  }

  static String slug(String heading) {
    String text = heading.replaceAll("\\[([^\\]]*)\\]\\([^)]*\\)", "$1").replaceAll("<[^>]+>", "");
    return text.toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{M}\\p{N}\\p{Pc} -]", "").replace(' ', '-');
  }

  static List<String> targets(String md) {
    List<String> out = new ArrayList<>();
    String text = withoutCode(md);
    for (Pattern p : List.of(INLINE, REFERENCE)) {
      Matcher m = p.matcher(text);
      while (m.find()) out.add(m.group(1));
    }
    return out;
  }

  @Test
  void everyRelativeLinkPointsToAFileAndEveryFragmentToAHeading() throws IOException {
    List<Path> files = markdownFiles();
    assertTrue(files.contains(REPO.resolve("README.md")) && files.stream().anyMatch(f -> f.startsWith(REPO.resolve("docs"))),
        "found the Markdown at " + REPO + ": " + files);
    List<String> broken = new ArrayList<>();
    int checked = 0;
    for (Path file : files) {
      String md = Files.readString(file);
      for (String target : targets(md)) {
        if (SCHEME.matcher(target).find()) continue;
        checked++;
        int hash = target.indexOf('#');
        String path = hash < 0 ? target : target.substring(0, hash);
        String fragment = hash < 0 ? null : target.substring(hash + 1);
        Path resolved = path.isEmpty() ? file : path.startsWith("/") ? REPO.resolve(path.substring(1)) : file.getParent().resolve(path).normalize();
        String where = REPO.relativize(file) + ": " + target;
        if (!Files.exists(resolved)) {
          broken.add(where + " (no " + REPO.relativize(resolved.toAbsolutePath().normalize()) + ")");
        } else if (!resolved.startsWith(REPO)) {
          broken.add(where + " (outside the repository)");
        } else if (fragment != null && resolved.toString().endsWith(".md") && !anchors(Files.readString(resolved)).contains(fragment)) {
          broken.add(where + " (no heading #" + fragment + " in " + REPO.relativize(resolved) + "; it has " + anchors(Files.readString(resolved)) + ")");
        }
      }
    }
    assertTrue(checked > 10, "checked " + checked + " links");
    assertEquals(List.of(), broken, "broken relative links in the Markdown");
  }

  @Test
  void headingsGetGitHubsAnchors() {
    assertEquals("the-agent-guestsrc", slug("The agent (guest/src)"));
    assertEquals("network", slug("`network`"));
    assertEquals("checkpoints-restore-in-place-fork", slug("Checkpoints, restore in place, fork"));
    assertEquals(Set.of("a", "a-1", "b_c"), anchors("# A\ntext\n## A\n```\n# not a heading\n```\n### b_c\n"));
    assertEquals(List.of("x.md", "y.md#z", "ref.md"), targets("[a](x.md) `[b](code.md)` ![c](y.md#z \"t\")\n```\n[d](fenced.md)\n```\n[id]: ref.md\n"));
  }
}
