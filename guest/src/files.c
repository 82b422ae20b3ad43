/* File streams and metadata operations. Paths are the guest's own: the whole VM is the sandbox. */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <linux/fs.h>
#include <unistd.h>

#define FLAG_PARENTS 1u
#define FLAG_RECURSIVE 1u
/* A LIST_ENTRIES frame is flushed at this many payload bytes or entries. */
#define LIST_FRAME_BYTES (60u * 1024)
#define LIST_FRAME_ENTRIES 1024u

/* Parses the path-only payload of STAT, LIST, FILE_READ; NULL after answering (bad_request). */
static char *path_arg(uint32_t id, uint8_t type, struct reader *r, const char *what) {
  struct path_req q;
  if (decode_path_req(type, r, &q) < 0) {
    path_req_free(&q);
    bad_request(id, r, what);
    return NULL;
  }
  return q.path;
}

static int mkdir_p(const char *path, mode_t mode) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) {
    errno = n ? ENAMETOOLONG : ENOENT;
    return -1;
  }
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == 0) {
      char c = *p;
      *p = 0;
      if (mkdir(buf, mode) < 0) {
        struct stat st;
        if (errno != EEXIST || stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
          if (errno == EEXIST) errno = ENOTDIR;
          return -1;
        }
      }
      *p = c;
      if (!c) return 0;
    }
  }
}

static int mkdir_parents_of(const char *path) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, n + 1);
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf) return 0;
  *slash = 0;
  return mkdir_p(buf, 0755);
}

/* Closes a stream's file; an upload that did not finish takes its new file with it. */
void file_close(struct stream *s) {
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  if (s->upload_tmp) unlink(s->upload_tmp);
  free(s->upload_tmp);
  free(s->upload_target);
  s->upload_tmp = s->upload_target = NULL;
}

/* Hands an open file to a new stream and answers OK(value); returns -1, or `fd` if it could not. */
static int adopt_file(uint32_t id, enum stream_kind kind, int fd, const char *path, uint64_t value) {
  struct stream *s = stream_new(id, kind);
  if (!s) {
    send_error(id, ENOMEM, "%s: %s", path, strerror(ENOMEM));
    return fd;
  }
  s->fd = fd;
  send_ok(id, value);
  return -1;
}

void file_read_start(uint32_t id, struct reader *r) {
  char *path = path_arg(id, T_FILE_READ, r, "FILE_READ");
  if (!path) return;
  /* O_NONBLOCK so a FIFO or device cannot stall the agent; its data is polled like a pipe's. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    send_error(id, errno, "open %s: %s", path, strerror(errno));
  } else if (S_ISDIR(st.st_mode)) {
    send_error(id, EISDIR, "read %s: %s", path, strerror(EISDIR));
  } else {
    fd = adopt_file(id, S_FILE_READ, fd, path, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
  }
  if (fd >= 0) close(fd);
  free(path);
}

void file_read_pump(struct stream *s) {
  size_t want = s->credit < DATA_CHUNK ? (size_t)s->credit : DATA_CHUNK;
  uint8_t *buf = data_scratch();
  ssize_t n = read(s->fd, buf + FRAME_HEADER, want);
  if (n > 0) {
    s->credit -= (uint64_t)n;
    send_data_frame(T_DATA, s->id, buf, (size_t)n);
  } else if (n == 0) {
    send_frame(T_END, s->id, NULL, 0);
    file_close(s);
    s->dead = 1;
  } else if (errno != EAGAIN && errno != EINTR) {
    send_error(s->id, errno, "read: %s", strerror(errno));
    file_close(s);
    s->dead = 1;
  }
}

/* What sits at a path that is not a regular file, for messages. */
static const char *kind_of(mode_t m) {
  return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a fifo" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
       : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/* "<dir of target>/.kiln-upload.XXXXXX", the template mkostemp fills in; NULL without memory. */
static char *upload_name(const char *target) {
  const char *slash = strrchr(target, '/');
  size_t dir = slash ? (size_t)(slash - target) : 0;
  char *name = malloc(dir + sizeof "/.kiln-upload.XXXXXX");
  if (!name) return NULL;
  memcpy(name, target, dir);
  strcpy(name + dir, slash ? "/.kiln-upload.XXXXXX" : ".kiln-upload.XXXXXX");
  return name;
}

/* Where a write to a path that names no file yet lands: the path, or, for a symlink to a file not
 * yet there, what the link names (as open with O_CREAT would create). NULL without memory. */
static char *link_target_or_self(const char *path) {
  struct stat st;
  char link[PATH_MAX];
  ssize_t n;
  if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode) || (n = readlink(path, link, sizeof link - 1)) <= 0) return strdup(path);
  link[n] = '\0';
  if (link[0] == '/') return strdup(link);
  const char *slash = strrchr(path, '/');
  size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
  char *out = malloc(dir + (size_t)n + 1);
  if (!out) return NULL;
  memcpy(out, path, dir);
  memcpy(out + dir, link, (size_t)n + 1);
  return out;
}

/* An upload goes to a new file beside its target, renamed over it once all of it is written and
 * synced: a failed or cut-off upload leaves the old file as it was, and no reader ever sees half
 * of the new one. The new file takes the old one's owner and mode unless the request gives a mode.
 * Uploads write regular files only. The path is followed like any path in the guest (it is all the
 * sandbox's): a symlink's target is what is replaced. What it names is checked before, and the
 * agent never opens it for writing, so a FIFO a guest plants there (or swaps in later) cannot hang
 * PID 1: the new file is made with O_EXCL under a fresh name and only renamed. */
void file_write_start(uint32_t id, struct reader *r) {
  struct path_req q;
  if (decode_path_req(T_FILE_WRITE, r, &q) < 0) {
    path_req_free(&q);
    bad_request(id, r, "FILE_WRITE");
    return;
  }
  uint32_t mode = q.mode, flags = q.flags;
  char *path = q.path;
  char *target = NULL, *tmp = NULL;
  int fd = -1;
  struct stat st;
  int exists = 0, made = 0;
  if ((flags & FLAG_PARENTS) && mkdir_parents_of(path) < 0) {
    send_error(id, errno, "create parents of %s: %s", path, strerror(errno));
  } else if ((exists = stat(path, &st) == 0) && !S_ISREG(st.st_mode)) {
    int e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    send_error(id, e, "write %s: %s is there, not a regular file (uploads write regular files only)", path, kind_of(st.st_mode));
  } else if (!(target = exists ? realpath(path, NULL) : link_target_or_self(path))) {
    send_error(id, errno, "resolve %s: %s", path, strerror(errno));
  } else if (!(tmp = upload_name(target))) {
    send_error(id, ENOMEM, "write %s: %s", path, strerror(ENOMEM));
  } else if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
    send_error(id, errno, "create %s: %s", tmp, strerror(errno));
  } else if ((made = 1) && exists && fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EPERM) {
    send_error(id, errno, "chown %s: %s", tmp, strerror(errno));
  } else if (fchmod(fd, mode ? mode & 07777 : exists ? st.st_mode & 07777 : 0644) < 0) {
    send_error(id, errno, "chmod %s: %s", tmp, strerror(errno));
  } else {
    struct stream *s = stream_new(id, S_FILE_WRITE);
    if (!s) {
      send_error(id, ENOMEM, "%s: %s", path, strerror(ENOMEM));
    } else {
      s->fd = fd;
      s->upload_tmp = tmp;
      s->upload_target = target;
      fd = -1;
      tmp = target = NULL;
      send_ok(id, 0);
    }
  }
  if (fd >= 0) close(fd);
  if (made && tmp) unlink(tmp); /* made, then refused (chown, chmod, no memory): it goes */
  free(tmp);
  free(target);
  free(path);
}

static void write_failed(struct stream *s, const char *what) {
  send_error(s->id, errno, "%s: %s", what, strerror(errno));
  file_close(s);
  s->dead = 1;
}

void file_write_data(struct stream *s, const uint8_t *p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(s->fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      write_failed(s, "write");
      return;
    }
    done += (size_t)w;
  }
  s->written += n;
  s->recv_window += n;
  send_window(s->id, (uint32_t)n);
}

/* END: the file's fsync runs in a helper; file_write_finish answers when it is done. */
void file_write_end(struct stream *s) {
  if (helper_start(s, H_FSYNC, 0, NULL) < 0) write_failed(s, "fsync");
}

void file_write_finish(struct stream *s, int err, const char *msg) {
  if (err) {
    send_error(s->id, err, "%s", msg);
    file_close(s);
    s->dead = 1;
    return;
  }
  if (close(s->fd) < 0) {
    s->fd = -1;
    write_failed(s, "close");
    return;
  }
  s->fd = -1;
  if (rename(s->upload_tmp, s->upload_target) < 0) {
    write_failed(s, "rename");
    return;
  }
  free(s->upload_tmp);
  s->upload_tmp = NULL;
  send_ok(s->id, s->written);
  s->dead = 1;
}

static void put_entry(struct writer *w, const char *name, const struct stat *st) {
  uint8_t kind = S_ISREG(st->st_mode) ? 0 : S_ISDIR(st->st_mode) ? 1 : S_ISLNK(st->st_mode) ? 2 : 3;
  wr_u8(w, kind);
  wr_u32(w, st->st_mode & 07777);
  wr_u64(w, (uint64_t)st->st_size);
  wr_u64(w, (uint64_t)((int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec));
  size_t n = strlen(name);
  wr_str(w, name, n > MAX_STR ? MAX_STR : n);
}

void op_stat(uint32_t id, struct reader *r) {
  char *path = path_arg(id, T_STAT, r, "STAT");
  if (!path) return;
  struct stat st;
  if (lstat(path, &st) < 0) {
    send_error(id, errno, "stat %s: %s", path, strerror(errno));
  } else {
    struct writer w;
    writer_init(&w, 2 * MAX_STR);
    const char *slash = strrchr(path, '/');
    put_entry(&w, slash && slash[1] ? slash + 1 : path, &st);
    if (w.bad) /* the entry fits the cap by construction: only an allocation can have failed */
      send_error(id, ENOMEM, "stat %s: %s", path, strerror(ENOMEM));
    else
      send_frame(T_STAT_RESULT, id, w.buf, w.len);
    writer_free(&w);
  }
  free(path);
}

/* Sends the entries gathered so far; -1 when the host is gone (the listing stops there). */
static int flush_entries(uint32_t id, struct writer *w, uint32_t *count) {
  if (*count == 0) return 0;
  uint8_t *p = w->buf;
  p[0] = (uint8_t)(*count >> 24);
  p[1] = (uint8_t)(*count >> 16);
  p[2] = (uint8_t)(*count >> 8);
  p[3] = (uint8_t)*count;
  int rc = send_frame(T_LIST_ENTRIES, id, w->buf, w->len);
  writer_reset(w);
  wr_u32(w, 0); /* within the capacity the buffer already has: cannot fail */
  *count = 0;
  return rc;
}

void op_list(uint32_t id, struct reader *r) {
  char *path = path_arg(id, T_LIST, r, "LIST");
  if (!path) return;
  DIR *d = opendir(path);
  if (!d) {
    send_error(id, errno, "list %s: %s", path, strerror(errno));
    free(path);
    return;
  }
  struct writer w;
  writer_init(&w, MAX_PAYLOAD);
  wr_u32(&w, 0);
  uint32_t count = 0;
  int err = w.bad ? ENOMEM : 0, gone = 0;
  struct dirent *e;
  while (!err && !gone) {
    errno = 0;
    if (!(e = readdir(d))) {
      err = errno; /* 0: the end */
      break;
    }
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue; /* removed meanwhile */
    put_entry(&w, e->d_name, &st);
    /* A frame is flushed long before the cap (LIST_FRAME_BYTES): bad means an allocation failed. */
    if (w.bad) err = ENOMEM;
    else if (++count >= LIST_FRAME_ENTRIES || w.len >= LIST_FRAME_BYTES) gone = flush_entries(id, &w, &count) < 0;
  }
  closedir(d);
  if (gone) {
    /* The host went away mid-listing: nothing more can reach it (the loop suspends the session). */
  } else if (err) {
    /* ERROR ends the stream: entries already sent are all the host gets; none is half-written. */
    send_error(id, err, "list %s: %s", path, strerror(err));
  } else {
    if (flush_entries(id, &w, &count) == 0) send_frame(T_END, id, NULL, 0);
  }
  writer_free(&w);
  free(path);
}

void op_mkdir(uint32_t id, struct reader *r) {
  struct path_req q;
  if (decode_path_req(T_MKDIR, r, &q) < 0) {
    path_req_free(&q);
    return bad_request(id, r, "MKDIR");
  }
  uint32_t mode = q.mode, flags = q.flags;
  char *path = q.path;
  mode_t m = mode ? (mode_t)(mode & 07777) : 0755;
  if (((flags & FLAG_PARENTS) ? mkdir_p(path, m) : mkdir(path, m)) < 0)
    send_error(id, errno, "mkdir %s: %s", path, strerror(errno));
  else
    send_ok(id, 0);
  free(path);
}

/* Removes `name` under `dirfd` and everything below it without following symlinks. */
static int remove_tree(int parent, const char *name, int depth) {
  if (unlinkat(parent, name, 0) == 0) return 0;
  if (errno != EISDIR && errno != EPERM) return -1;
  if (depth > 4096) {
    errno = ELOOP;
    return -1;
  }
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (remove_tree(dirfd(d), e->d_name, depth + 1) < 0 && errno != ENOENT) {
      rc = -1;
      break;
    }
  }
  int saved = errno;
  closedir(d);
  if (rc < 0) {
    errno = saved;
    return -1;
  }
  return unlinkat(parent, name, AT_REMOVEDIR);
}

int remove_tree_path(const char *path) {
  return remove_tree(AT_FDCWD, path, 0);
}

static void start_op(uint32_t id, enum helper_kind kind, uint64_t arg, const char *path, const char *what);

void op_remove(uint32_t id, struct reader *r) {
  struct path_req q;
  if (decode_path_req(T_REMOVE, r, &q) < 0) {
    path_req_free(&q);
    return bad_request(id, r, "REMOVE");
  }
  uint32_t flags = q.flags;
  char *path = q.path;
  if (flags & FLAG_RECURSIVE) {
    /* A tree can be any size: a helper removes it (the answer is the same OK or ERROR). */
    start_op(id, H_REMOVE_TREE, 0, path, "remove");
    free(path);
    return;
  }
  struct stat st;
  int rc;
  if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
    rc = rmdir(path);
  else
    rc = unlink(path);
  if (rc < 0)
    send_error(id, errno, "remove %s: %s", path, strerror(errno));
  else
    send_ok(id, 0);
  free(path);
}

void op_rename(uint32_t id, struct reader *r) {
  struct path_req q;
  int malformed = decode_path_req(T_RENAME, r, &q) < 0;
  char *from = q.path, *to = q.to;
  if (malformed) {
    bad_request(id, r, "RENAME");
  } else if (rename(from, to) < 0) {
    send_error(id, errno, "rename %s to %s: %s", from, to, strerror(errno));
  } else {
    send_ok(id, 0);
  }
  free(from);
  free(to);
}

/* SYNC, FREEZE, GROW_ROOT and a recursive REMOVE can block for as long as the disk takes: a helper process does the
 * work (helper.c) and the stream lives until its answer, which is the same OK or ERROR as ever. */
static void start_op(uint32_t id, enum helper_kind kind, uint64_t arg, const char *path, const char *what) {
  struct stream *s = stream_new(id, S_OP);
  if (!s) {
    send_error(id, ENOMEM, "%s: %s", what, strerror(ENOMEM));
    return;
  }
  if (helper_start(s, kind, arg, path) < 0) {
    int e = errno;
    send_error(id, e, "%s: cannot start a helper process: %s", what, strerror(e));
    s->dead = 1;
  }
}

void op_sync(uint32_t id, struct reader *r) {
  if (!reader_done(r)) return protocol_error("malformed SYNC");
  start_op(id, H_SYNC, 0, NULL, "sync");
}

/* Set while the root filesystem is frozen for a snapshot. A restored clone starts with it set, and
 * its first HELLO thaws: by ioctl from the agent itself, which lives in the initramfs, since no
 * program can be run from a frozen disk. */
static int root_frozen;

void root_frozen_by_helper(void) {
  root_frozen = 1;
}

/* sync() and FIFREEZE, in a helper; OK once / is frozen. */
void op_freeze(uint32_t id, struct reader *r) {
  if (!reader_done(r)) return protocol_error("malformed FREEZE");
  start_op(id, H_FREEZE, 0, NULL, "freeze /");
}

/* The helper waits for the device to report the new size, then resizes (helper.c: grow_root). */
void op_grow_root(uint32_t id, struct reader *r) {
  uint64_t want = rd_u64(r);
  if (!reader_done(r)) return protocol_error("malformed GROW_ROOT");
  start_op(id, H_GROW_ROOT, want, NULL, "grow /");
}

void thaw_if_frozen(void) {
  if (!root_frozen) return;
  int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ioctl(fd, FITHAW, 0) < 0) agent_log("thaw /: %s", strerror(errno));
  if (fd >= 0) close(fd);
  root_frozen = 0;
}
