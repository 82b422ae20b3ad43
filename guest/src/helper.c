/* Helpers: operations that can block for an unbounded time (sync(), FIFREEZE, waiting for the root
 * device to grow and EXT4_IOC_RESIZE_FS, an upload's final fsync, a recursive REMOVE of a tree of
 * any size) run in a forked child, never in the poll loop, so every other stream keeps being
 * served meanwhile.
 *
 *   loop: GROW_ROOT ──▶ helper_start(s) ── fork ──▶ child: do the work; write one result; _exit
 *                                                               │ (a pipe: O_CLOEXEC, polled)
 *   loop: poll() ◀──────────────────────────────────────────────┘
 *         helper_done(): read the result, answer on the stream (OK / ERROR, as before)
 *
 * The result is one struct written with one write() smaller than PIPE_BUF, so it arrives whole or
 * not at all; a child that dies without writing it is an ERROR EIO. The child is reaped like any
 * other by the loop's SIGCHLD handling. A stream abandoned while its helper runs (CANCEL, a new
 * session) leaves the helper to finish on its own: its result is then dropped, except that a
 * FREEZE that succeeded for nobody is thawed at once (a FREEZE that follows it cannot have
 * succeeded meanwhile: FIFREEZE of a frozen filesystem is EBUSY). */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <linux/fs.h>
#include <unistd.h>

struct helper_result {
  int32_t err; /* 0: OK(value) */
  uint64_t value;
  char msg[200];
};
_Static_assert(sizeof(struct helper_result) <= PIPE_BUF, "one atomic pipe write");

struct helper {
  pid_t pid;         /* 0: the slot is free */
  int fd;            /* the result pipe's read end */
  enum helper_kind kind;
  struct stream *s;  /* NULL once the stream was abandoned */
};

static struct helper helpers[MAX_HELPERS];

#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t) /* <linux/ext4.h> (not exported to userspace) */
#endif
/* How long GROW_ROOT waits for the device to report the new size: the host's block_resize reaches
 * the guest as a config-change interrupt, normally within milliseconds. */
#define GROW_WAIT_MS 5000
#define GROW_POLL_MS 20

static void fail(struct helper_result *r, int err, const char *fmt, const char *arg) {
  r->err = err ? err : EIO;
  snprintf(r->msg, sizeof r->msg, fmt, arg ? arg : strerror(r->err));
}

/* The device under /, found by its device number in /sys (the root is mounted from the initramfs,
 * so /proc/mounts names the device as it was then). */
static int open_root_device(void) {
  struct stat st;
  if (stat("/", &st) < 0) return -1;
  char path[64];
  snprintf(path, sizeof path, "/sys/dev/block/%u:%u/uevent", major(st.st_dev), minor(st.st_dev));
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  char line[128], dev[96] = "";
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "DEVNAME=", 8) == 0) {
      size_t n = strcspn(line + 8, "\n");
      if (n + 6 > sizeof dev) continue;
      memcpy(dev, "/dev/", 5);
      memcpy(dev + 5, line + 8, n);
      dev[5 + n] = 0;
    }
  fclose(f);
  return dev[0] ? open(dev, O_RDONLY | O_CLOEXEC) : -1;
}

static void grow_root(uint64_t want, struct helper_result *r) {
  errno = 0;
  int dev = open_root_device();
  if (dev < 0) return fail(r, errno ? errno : ENODEV, "%s", "root block device not found");
  uint64_t have = 0;
  for (int waited = 0; waited <= GROW_WAIT_MS; waited += GROW_POLL_MS) {
    if (ioctl(dev, BLKGETSIZE64, &have) < 0 || have >= want) break;
    struct timespec ts = {0, GROW_POLL_MS * 1000000L};
    nanosleep(&ts, NULL); /* in the helper: the loop goes on */
  }
  close(dev);
  struct statfs fs;
  if (have < want || statfs("/", &fs) < 0 || fs.f_bsize == 0) {
    r->err = EIO;
    snprintf(r->msg, sizeof r->msg, "root device is %llu bytes, wanted %llu", (unsigned long long)have, (unsigned long long)want);
    return;
  }
  uint64_t blocks = want / (uint64_t)fs.f_bsize;
  int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 || ioctl(root, EXT4_IOC_RESIZE_FS, &blocks) < 0) return fail(r, errno, "grow /: %s", NULL);
  close(root);
  r->value = blocks * (uint64_t)fs.f_bsize;
}

static int freeze_root(int how) {
  int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = ioctl(fd, how, 0);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

/* In the child: the work itself. */
static void run(enum helper_kind kind, int file_fd, uint64_t arg, const char *path, struct helper_result *r) {
#ifdef KILN_TEST_HOOKS
  /* agent-test's slow helper: proves that the loop serves other streams meanwhile. */
  const char *delay = getenv("KILN_TEST_HELPER_DELAY_MS");
  if (delay) {
    long ms = atol(delay);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
#endif
  switch (kind) {
    case H_SYNC:
      sync();
      return;
    case H_FREEZE:
      sync();
      if (freeze_root(FIFREEZE) < 0) fail(r, errno, "freeze /: %s", NULL);
      return;
    case H_GROW_ROOT:
      grow_root(arg, r);
      return;
    case H_FSYNC:
      /* EINVAL: a file that cannot be synced (a special file system); nothing to wait for. */
      if (fsync(file_fd) < 0 && errno != EINVAL) fail(r, errno, "fsync: %s", NULL);
      return;
    case H_REMOVE_TREE:
      if (remove_tree_path(path) < 0) {
        r->err = errno ? errno : EIO;
        snprintf(r->msg, sizeof r->msg, "remove %s: %s", path, strerror(r->err));
      }
      return;
  }
}

/* Closes every descriptor above stderr but `a` and `b` (-1: none), so that a helper holds no pipe
 * of a command (which would delay its EOF) nor the host channel. */
static void close_others(int a, int b) {
  int hi = a > b ? a : b;
  for (int fd = 3; fd <= hi; fd++)
    if (fd != a && fd != b) close(fd);
  if (close_range((unsigned)hi + 1, ~0u, 0) < 0) {
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = hi + 1; fd < (max > 0 && max < 65536 ? max : 65536); fd++) close((int)fd);
  }
}

int helper_start(struct stream *s, enum helper_kind kind, uint64_t arg, const char *path) {
  struct helper *h = NULL;
  for (int i = 0; i < MAX_HELPERS && !h; i++)
    if (!helpers[i].pid) h = &helpers[i];
  if (!h) {
    errno = EAGAIN;
    return -1;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return -1;
  int file_fd = kind == H_FSYNC ? s->fd : -1;
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    errno = e;
    return -1;
  }
  if (pid == 0) {
    close_others(p[1], file_fd);
    struct helper_result r = {0};
    run(kind, file_fd, arg, path, &r);
    /* A blocking write of less than PIPE_BUF into an empty pipe: whole, or EPIPE if the agent died. */
    fcntl(p[1], F_SETFL, 0);
    _exit(write(p[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
  }
  close(p[1]);
  *h = (struct helper){.pid = pid, .fd = p[0], .kind = kind, .s = s};
  s->helper = 1;
  return 0;
}

void helper_detach(struct stream *s) {
  for (int i = 0; i < MAX_HELPERS; i++)
    if (helpers[i].pid && helpers[i].s == s) helpers[i].s = NULL;
  s->helper = 0;
}

void helper_forget_all(void) {
  for (int i = 0; i < MAX_HELPERS; i++) helpers[i].s = NULL;
}

int helper_poll_fds(struct pollfd *pfd) {
  int n = 0;
  for (int i = 0; i < MAX_HELPERS; i++)
    if (helpers[i].pid) pfd[n++] = (struct pollfd){.fd = helpers[i].fd, .events = POLLIN};
  return n;
}

/* A helper's result arrived (or it died): answers its stream as the operation always has. */
static void finish(struct helper *h) {
  struct helper_result r;
  ssize_t got;
  while ((got = read(h->fd, &r, sizeof r)) < 0 && errno == EINTR) {
  }
  if (got < 0 && errno == EAGAIN) return; /* spurious wakeup: not there yet */
  close(h->fd);
  if (got != (ssize_t)sizeof r) {
    memset(&r, 0, sizeof r);
    r.err = EIO;
    snprintf(r.msg, sizeof r.msg, "helper process %d exited without a result", (int)h->pid);
  }
  r.msg[sizeof r.msg - 1] = 0;
  struct stream *s = h->s;
  enum helper_kind kind = h->kind;
  *h = (struct helper){0};
  if (kind == H_FREEZE && r.err == 0) {
    if (s) {
      root_frozen_by_helper();
    } else {
      /* Nobody will snapshot (the FREEZE was cancelled, or its session ended): thaw now. */
      agent_log("a FREEZE finished after its stream was abandoned; thawing /");
      if (freeze_root(FITHAW) < 0) agent_log("thaw /: %s", strerror(errno));
    }
  }
  if (!s) return;
  s->helper = 0;
  if (kind == H_FSYNC) {
    file_write_finish(s, r.err, r.msg);
    return;
  }
  if (r.err)
    send_error(s->id, r.err, "%s", r.msg);
  else
    send_ok(s->id, r.value);
  s->dead = 1;
}

void helper_done(const struct pollfd *pfd, int n) {
  for (int j = 0; j < n; j++) {
    if (!pfd[j].revents) continue;
    for (int i = 0; i < MAX_HELPERS; i++)
      if (helpers[i].pid && helpers[i].fd == pfd[j].fd) {
        finish(&helpers[i]);
        break;
      }
  }
}
