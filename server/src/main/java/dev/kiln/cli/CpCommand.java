package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.sdk.KilnException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code kiln cp} like {@code docker cp}: one side is {@code <sandbox>:<path>}, the other a local
 * path; directories are copied whole, with their files' modes. A destination that is an existing
 * directory receives the source under its own name.
 */
@Command(name = "cp", description = "Copy files or directories between the local machine and a sandbox: kiln cp SRC DST, one side SANDBOX:PATH.")
final class CpCommand implements Callable<Integer> {
  private static final Pattern REMOTE = Pattern.compile("(sb-[a-z0-9]+):(/.*)");
  @Parameters(index = "0", description = "source: a local path or SANDBOX:/path") String source;
  @Parameters(index = "1", description = "destination: a local path or SANDBOX:/path") String destination;

  private long files;
  private long bytes;
  private long skipped;

  @Override
  public Integer call() throws Exception {
    Matcher from = REMOTE.matcher(source);
    Matcher to = REMOTE.matcher(destination);
    if (from.matches() == to.matches()) {
      System.err.println("kiln cp: exactly one side must be SANDBOX:/absolute/path (the other local), got '" + source + "' and '" + destination + "'");
      return 2;
    }
    Api api = Api.fromEnvironment();
    if (to.matches()) upload(api, Path.of(source), to.group(1), to.group(2));
    else download(api, from.group(1), from.group(2), Path.of(destination));
    System.err.println("copied " + files + " file(s), " + bytes + " bytes" + (skipped > 0 ? "; skipped " + skipped + " that are neither files nor directories" : ""));
    return 0;
  }

  private void upload(Api api, Path local, String id, String guestPath) throws IOException {
    if (!Files.exists(local, LinkOption.NOFOLLOW_LINKS)) throw new IOException("no such local file: " + local);
    String target = guestPath;
    JsonNode existing = stat(api, id, guestPath);
    if (existing != null && "directory".equals(existing.path("type").asText())) target = join(guestPath, local.getFileName().toString());
    if (!Files.isDirectory(local, LinkOption.NOFOLLOW_LINKS)) {
      putFile(api, id, local, target);
      return;
    }
    try (Stream<Path> walk = Files.walk(local)) {
      for (Path p : walk.sorted().toList()) {
        String g = local.equals(p) ? target : join(target, local.relativize(p).toString());
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          api.post("/v1/sandboxes/" + Api.q(id) + "/files/mkdir", java.util.Map.of("path", g, "mode", mode(p), "parents", true));
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          putFile(api, id, p, g);
        } else {
          skipped++;
        }
      }
    }
  }

  private void putFile(Api api, String id, Path local, String guestPath) throws IOException {
    bytes += api.upload(FilesCommand.filesPath(id, "", guestPath) + "&mode=" + mode(local), local).path("bytesWritten").asLong();
    files++;
  }

  private void download(Api api, String id, String guestPath, Path local) throws IOException {
    JsonNode st = stat(api, id, guestPath);
    if (st == null) throw new IOException("no such file in sandbox " + id + ": " + guestPath);
    Path target = Files.isDirectory(local) ? local.resolve(Path.of(guestPath).getFileName() == null ? "root" : Path.of(guestPath).getFileName().toString()) : local;
    copyOut(api, id, guestPath, st, target);
  }

  private void copyOut(Api api, String id, String guestPath, JsonNode entry, Path target) throws IOException {
    switch (entry.path("type").asText()) {
      case "directory" -> {
        Files.createDirectories(target);
        for (JsonNode child : api.get(FilesCommand.filesPath(id, "/list", guestPath)).path("entries")) {
          String name = child.path("name").asText();
          // Names come from the guest: one that is not a plain name would write outside the target.
          if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/")) {
            skipped++;
            continue;
          }
          copyOut(api, id, join(guestPath, name), child, target.resolve(name));
        }
        setMode(target, entry);
      }
      case "file" -> {
        try (InputStream in = api.download(FilesCommand.filesPath(id, "", guestPath)); OutputStream out = Files.newOutputStream(target)) {
          bytes += in.transferTo(out);
        }
        setMode(target, entry);
        files++;
      }
      default -> skipped++;
    }
  }

  private static JsonNode stat(Api api, String id, String guestPath) {
    try {
      return api.get(FilesCommand.filesPath(id, "/stat", guestPath));
    } catch (KilnException e) {
      if ("FILE_NOT_FOUND".equals(e.code())) return null;
      throw e;
    }
  }

  private static String join(String dir, String name) {
    return (dir.endsWith("/") ? dir : dir + "/") + name;
  }

  private static String mode(Path p) throws IOException {
    int m = 0;
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
    for (PosixFilePermission x : PosixFilePermission.values()) {
      if (perms.contains(x)) m |= 1 << (8 - x.ordinal());
    }
    return String.format("%04o", m);
  }

  private static void setMode(Path p, JsonNode entry) throws IOException {
    int m = Integer.parseInt(entry.path("mode").asText("0644"), 8);
    Set<PosixFilePermission> perms = java.util.EnumSet.noneOf(PosixFilePermission.class);
    for (PosixFilePermission x : PosixFilePermission.values()) {
      if ((m & 1 << (8 - x.ordinal())) != 0) perms.add(x);
    }
    Files.setPosixFilePermissions(p, perms);
  }
}
