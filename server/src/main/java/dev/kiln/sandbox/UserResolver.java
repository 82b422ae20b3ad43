package dev.kiln.sandbox;

import dev.kiln.agent.GuestFileInput;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns an exec's {@code user} into uid/gid: "root", "uid", "uid:gid", or names ("name",
 * "name:group") looked up in the guest's own /etc/passwd and /etc/group (read through the agent, at most 1 MiB, parsed defensively: the guest
 * wrote it).
 */
public final class UserResolver {
  private static final Pattern NUMERIC = Pattern.compile("(\\d{1,9})(?::(\\d{1,9}))?");
  private static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_.-]{0,31}\\$?", Pattern.CASE_INSENSITIVE);
  private static final int MAX_PASSWD = 1 << 20;
  private final GuestFiles files;

  /** Reads a guest file of a sandbox (a KilnException FILE_NOT_FOUND when there is none). */
  @FunctionalInterface
  public interface GuestFiles {
    GuestFileInput read(String sandboxId, String path) throws InterruptedException;
  }

  public UserResolver(SandboxOperations ops) {
    this.files = (id, path) -> ops.readFile(id, path);
  }

  private UserResolver(GuestFiles files) {
    this.files = files;
  }

  /** Users looked up in the guest {@code agent} serves (a build VM, a snapshot VM): the sandbox id is only a label there. */
  public static UserResolver of(dev.kiln.agent.AgentConnection agent) {
    return new UserResolver((label, path) -> {
      try {
        return agent.files().read(path);
      } catch (dev.kiln.agent.AgentException e) {
        if (e.errno() == dev.kiln.agent.AgentException.ENOENT) throw new KilnException(ErrorCode.FILE_NOT_FOUND, "no " + path + " in " + label);
        throw new KilnException(ErrorCode.GUEST_ERROR, "reading " + path + " in " + label + ": " + e.getMessage(), e);
      }
    });
  }

  /** Resolved ids; empty means "as the agent" (root). */
  public record Ids(OptionalInt uid, OptionalInt gid) {
    public static final Ids AGENT = new Ids(OptionalInt.empty(), OptionalInt.empty());
  }

  public Ids resolve(String sandboxId, String user) throws InterruptedException {
    if (user.equals("root")) return new Ids(OptionalInt.of(0), OptionalInt.of(0));
    Matcher n = NUMERIC.matcher(user);
    if (n.matches()) {
      int uid = Integer.parseInt(n.group(1));
      int gid = n.group(2) == null ? uid : Integer.parseInt(n.group(2));
      return new Ids(OptionalInt.of(uid), OptionalInt.of(gid));
    }
    // Image configs also say "name:group", "name:gid" or "uid:group".
    int colon = user.indexOf(':');
    String userPart = colon < 0 ? user : user.substring(0, colon);
    int[] ids = userPart.matches("\\d{1,9}") ? new int[] {Integer.parseInt(userPart), Integer.parseInt(userPart)}
        : lookup(sandboxId, "/etc/passwd", userPart, 2, 3);
    if (colon < 0) return new Ids(OptionalInt.of(ids[0]), OptionalInt.of(ids[1]));
    String group = user.substring(colon + 1);
    int gid = group.matches("\\d{1,9}") ? Integer.parseInt(group) : lookup(sandboxId, "/etc/group", group, 2, 2)[0];
    return new Ids(OptionalInt.of(ids[0]), OptionalInt.of(gid));
  }

  /**
   * The home directory of {@code user} (a name, "uid" or "name:group") from the guest's
   * /etc/passwd; "/root" for root, and for a user the file does not name.
   */
  public String home(String sandboxId, String user) throws InterruptedException {
    String name = user.contains(":") ? user.substring(0, user.indexOf(':')) : user;
    if (name.equals("root") || name.equals("0")) return "/root";
    boolean numeric = name.matches("\\d{1,9}");
    if (!numeric && !NAME.matcher(name).matches()) throw new KilnException(ErrorCode.INVALID_REQUEST, "user must be a name or a uid, got '" + name + "'");
    for (String[] f : entries(sandboxId, "/etc/passwd", name)) {
      if (f.length > 5 && (numeric ? f[2].equals(name) : f[0].equals(name)) && f[5].startsWith("/")) return f[5];
    }
    return "/root";
  }

  /** Finds {@code name} in a passwd-format file of the guest; returns the two numeric fields asked for. */
  private int[] lookup(String sandboxId, String file, String name, int first, int second) throws InterruptedException {
    if (!NAME.matcher(name).matches()) throw new KilnException(ErrorCode.INVALID_REQUEST, "user must be a name, 'uid' or 'uid:gid', got '" + name + "'");
    for (String[] f : entries(sandboxId, file, name)) {
      if (f.length > Math.max(first, second) && f[0].equals(name) && f[first].matches("\\d{1,9}") && f[second].matches("\\d{1,9}")) {
        return new int[] {Integer.parseInt(f[first]), Integer.parseInt(f[second])};
      }
    }
    throw new KilnException(ErrorCode.INVALID_REQUEST, "no '" + name + "' in the sandbox's " + file);
  }

  /** The lines of a passwd-format file of the guest, split at ':' (at most 1 MiB read: the guest wrote it). */
  private java.util.List<String[]> entries(String sandboxId, String file, String lookingFor) throws InterruptedException {
    String content;
    try (GuestFileInput in = files.read(sandboxId, file)) {
      content = new String(in.readNBytes(MAX_PASSWD), StandardCharsets.UTF_8);
    } catch (KilnException e) {
      if (e.code() == ErrorCode.FILE_NOT_FOUND) throw new KilnException(ErrorCode.INVALID_REQUEST, "the sandbox has no " + file + " to look up '" + lookingFor + "'");
      throw e;
    } catch (IOException e) {
      throw new KilnException(ErrorCode.GUEST_ERROR, "reading " + file + " in sandbox " + sandboxId + ": " + e.getMessage(), e);
    }
    return content.lines().map(l -> l.split(":", -1)).toList();
  }
}
