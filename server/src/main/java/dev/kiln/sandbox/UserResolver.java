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
 * Turns an exec's {@code user} into uid/gid: "root", "uid", "uid:gid", or a name looked up in the
 * guest's own /etc/passwd (read through the agent, at most 1 MiB, parsed defensively: the guest
 * wrote it).
 */
public final class UserResolver {
  private static final Pattern NUMERIC = Pattern.compile("(\\d{1,9})(?::(\\d{1,9}))?");
  private static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_.-]{0,31}\\$?", Pattern.CASE_INSENSITIVE);
  private static final int MAX_PASSWD = 1 << 20;
  private final SandboxOperations ops;

  public UserResolver(SandboxOperations ops) {
    this.ops = ops;
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
    if (!NAME.matcher(user).matches()) throw new KilnException(ErrorCode.INVALID_REQUEST, "user must be a name, 'uid' or 'uid:gid', got '" + user + "'");
    String passwd;
    try (GuestFileInput in = ops.readFile(sandboxId, "/etc/passwd")) {
      byte[] b = in.readNBytes(MAX_PASSWD);
      passwd = new String(b, StandardCharsets.UTF_8);
    } catch (KilnException e) {
      if (e.code() == ErrorCode.FILE_NOT_FOUND) throw new KilnException(ErrorCode.INVALID_REQUEST, "the sandbox has no /etc/passwd to look up user '" + user + "'");
      throw e;
    } catch (IOException e) {
      throw new KilnException(ErrorCode.GUEST_ERROR, "reading /etc/passwd in sandbox " + sandboxId + ": " + e.getMessage(), e);
    }
    for (String line : passwd.split("\n")) {
      String[] f = line.split(":", -1);
      if (f.length >= 4 && f[0].equals(user) && f[2].matches("\\d{1,9}") && f[3].matches("\\d{1,9}")) {
        return new Ids(OptionalInt.of(Integer.parseInt(f[2])), OptionalInt.of(Integer.parseInt(f[3])));
      }
    }
    throw new KilnException(ErrorCode.INVALID_REQUEST, "no user '" + user + "' in the sandbox's /etc/passwd");
  }
}
