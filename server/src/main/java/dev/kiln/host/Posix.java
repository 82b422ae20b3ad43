package dev.kiln.host;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.Optional;

/**
 * File system calls the JDK lacks, or makes only by following a final symlink: mknod, lchown,
 * lsetxattr/lgetxattr, utimensat with AT_SYMLINK_NOFOLLOW, and symlink with a byte-exact target.
 * Downcalls into the C library through FFM (the JVM needs {@code --enable-native-access}); each
 * captures errno, and a failure is an IOException naming the call, the path and the errno, such
 * as {@code lchown /x: No such file or directory (ENOENT, errno 2)}.
 */
public final class Posix {
  // <fcntl.h>: the dirfd meaning "relative to the working directory", and the no-follow flag
  private static final int AT_FDCWD = -100;
  private static final int AT_SYMLINK_NOFOLLOW = 0x100;
  // <asm-generic/errno.h>: lgetxattr's "no such attribute"
  private static final int ENODATA = 61;
  // <linux/limits.h>: XATTR_SIZE_MAX, the largest value the kernel stores for one attribute
  private static final int XATTR_SIZE_MAX = 65536;
  /** The charset the JDK encodes file names with, so a path reaches the kernel as the bytes Files would send. */
  private static final Charset FILE_NAMES = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

  // int mknod(const char *path, mode_t mode, dev_t dev)
  private static final MethodHandle MKNOD = downcall("mknod", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG);
  // int lchown(const char *path, uid_t owner, gid_t group)
  private static final MethodHandle LCHOWN = downcall("lchown", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
  // int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)
  private static final MethodHandle LSETXATTR = downcall("lsetxattr", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT);
  // ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size)
  private static final MethodHandle LGETXATTR = downcall("lgetxattr", JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
  // int utimensat(int dirfd, const char *path, const struct timespec times[2], int flags)
  private static final MethodHandle UTIMENSAT = downcall("utimensat", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
  // int symlink(const char *target, const char *linkpath)
  private static final MethodHandle SYMLINK = downcall("symlink", JAVA_INT, ADDRESS, ADDRESS);
  // int memfd_create(const char *name, unsigned int flags)
  private static final MethodHandle MEMFD_CREATE = downcall("memfd_create", JAVA_INT, ADDRESS, JAVA_INT);
  // int fcntl(int fd, int cmd, ...): variadic from its third argument
  private static final MethodHandle FCNTL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("fcntl"),
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
  private static final MethodHandle CLOSE = downcall("close", JAVA_INT, JAVA_INT);
  private static final int MFD_CLOEXEC = 1;
  private static final int MFD_ALLOW_SEALING = 2;
  private static final int F_ADD_SEALS = 1033;
  /** F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: its size and contents fixed for good, by anyone. */
  private static final int SEALED_FOR_GOOD = 1 | 2 | 4 | 8;
  // const char *strerror(int errnum); const char *strerrorname_np(int errnum) (glibc 2.32+, NULL when unknown)
  private static final MethodHandle STRERROR = LINKER.downcallHandle(
      LINKER.defaultLookup().findOrThrow("strerror"), FunctionDescriptor.of(ADDRESS, JAVA_INT));
  private static final MethodHandle STRERRORNAME_NP = LINKER.downcallHandle(
      LINKER.defaultLookup().findOrThrow("strerrorname_np"), FunctionDescriptor.of(ADDRESS, JAVA_INT));

  private Posix() {}

  /** glibc's makedev (<sys/sysmacros.h>): 12 bits of major and 8 of minor low, the rest high. */
  public static long makedev(int major, int minor) {
    long maj = Integer.toUnsignedLong(major);
    long min = Integer.toUnsignedLong(minor);
    return ((maj & 0xfff) << 8) | ((maj & 0xfffff000L) << 32) | (min & 0xff) | ((min & 0xffffff00L) << 12);
  }

  /** Creates a device node or FIFO; {@code mode} carries the S_IF* type bits, and the umask applies. */
  public static void mknod(Path path, int mode, long dev) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      check("mknod", path, invoke(arena, MKNOD, cString(arena, path), mode, dev));
    }
  }

  /** Changes the owner of {@code path} itself, a symlink included. */
  public static void lchown(Path path, int uid, int gid) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      check("lchown", path, invoke(arena, LCHOWN, cString(arena, path), uid, gid));
    }
  }

  /** Sets an extended attribute on {@code path} itself, never on a symlink's target. */
  public static void lsetxattr(Path path, String name, byte[] value) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment bytes = arena.allocateFrom(JAVA_BYTE, value);
      check("lsetxattr " + name, path,
          invoke(arena, LSETXATTR, cString(arena, path), cString(arena, name), bytes, (long) value.length, 0));
    }
  }

  /** An extended attribute of {@code path} itself, or empty when it has none of that name. */
  public static Optional<byte[]> lgetxattr(Path path, String name) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(XATTR_SIZE_MAX);
      long size = invoke(arena, LGETXATTR, cString(arena, path), cString(arena, name), buffer, (long) XATTR_SIZE_MAX);
      if (size == -ENODATA) return Optional.empty();
      check("lgetxattr " + name, path, size);
      return Optional.of(buffer.asSlice(0, size).toArray(JAVA_BYTE));
    }
  }

  /**
   * Sets the modification time of {@code path} itself, a symlink included. The access time gets
   * the same value: layers and images carry no meaningful access times.
   */
  public static void utimensatNoFollow(Path path, long mtimeNanos) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      long seconds = Math.floorDiv(mtimeNanos, 1_000_000_000L);
      long nanos = Math.floorMod(mtimeNanos, 1_000_000_000L);
      // struct timespec times[2] = {atime, mtime}, each {time_t tv_sec; long tv_nsec}
      MemorySegment times = arena.allocateFrom(JAVA_LONG, seconds, nanos, seconds, nanos);
      check("utimensat", path, invoke(arena, UTIMENSAT, AT_FDCWD, cString(arena, path), times, AT_SYMLINK_NOFOLLOW));
    }
  }

  /**
   * Creates symlink {@code link} holding {@code target} byte for byte: Files.createSymbolicLink
   * would first normalize it as a Path (dropping a trailing slash, doubled slashes).
   */
  public static void symlink(String target, Path link) throws IOException {
    if (target.indexOf('\0') >= 0) throw new IOException("symlink " + link + ": target contains a NUL byte");
    try (Arena arena = Arena.ofConfined()) {
      check("symlink", link, invoke(arena, SYMLINK, cString(arena, target), cString(arena, link)));
    }
  }

  /** A new anonymous file in memory (close-on-exec, sealable); its descriptor. */
  public static int memfdCreate(String name) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      long fd = invoke(arena, MEMFD_CREATE, cString(arena, name), MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (fd < 0) throw new IOException("memfd_create " + name + ": " + describe((int) -fd));
      return (int) fd;
    }
  }

  /**
   * Seals an in-memory file for good: no write, resize or shared writable mapping through any
   * descriptor, root's included, and no seal removed. Private mappings stay possible: each maps it
   * copy-on-write.
   */
  public static void sealForGood(int fd) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      long r = invoke(arena, FCNTL, fd, F_ADD_SEALS, SEALED_FOR_GOOD);
      if (r < 0) throw new IOException("sealing descriptor " + fd + ": " + describe((int) -r));
    }
  }

  public static void close(int fd) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      long r = invoke(arena, CLOSE, fd);
      if (r < 0) throw new IOException("closing descriptor " + fd + ": " + describe((int) -r));
    }
  }

  private static MethodHandle downcall(String name, MemoryLayout result, MemoryLayout... args) {
    return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), FunctionDescriptor.of(result, args),
        Linker.Option.captureCallState("errno"));
  }

  private static MemorySegment cString(Arena arena, Object pathOrName) {
    return arena.allocateFrom(pathOrName.toString(), FILE_NAMES);
  }

  /** Calls a libc function that returns -1 and sets errno on failure; returns its result, or -errno. */
  private static long invoke(Arena arena, MethodHandle function, Object... args) {
    MemorySegment state = arena.allocate(CALL_STATE);
    Object[] withState = new Object[args.length + 1];
    withState[0] = state;
    System.arraycopy(args, 0, withState, 1, args.length);
    long result;
    try {
      result = ((Number) function.invokeWithArguments(withState)).longValue();
    } catch (Throwable t) {
      throw new IllegalStateException("downcall " + function + " failed", t);
    }
    return result == -1 ? -(int) ERRNO.get(state, 0L) : result;
  }

  private static void check(String call, Path path, long result) throws IOException {
    if (result < 0) throw new IOException(call + " " + path + ": " + describe((int) -result));
  }

  /** "No such file or directory (ENOENT, errno 2)", as strerror and strerrorname_np put it. */
  private static String describe(int errno) {
    try {
      String text = ((MemorySegment) STRERROR.invokeExact(errno)).reinterpret(Integer.MAX_VALUE).getString(0);
      MemorySegment name = (MemorySegment) STRERRORNAME_NP.invokeExact(errno);
      String symbol = name.equals(MemorySegment.NULL) ? "" : name.reinterpret(Integer.MAX_VALUE).getString(0) + ", ";
      return text + " (" + symbol + "errno " + errno + ")";
    } catch (Throwable t) {
      throw new IllegalStateException("strerror(" + errno + ") failed", t);
    }
  }
}
