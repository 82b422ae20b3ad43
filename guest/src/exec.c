/* EXEC streams: a child in its own session and process group, its stdio on pipes we pump. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXEC_KEEP_STDIN 1u
#define EXEC_PTY EXEC_FLAG_PTY
#define EXEC_LOGIN 4u
#define AS_AGENT 0xFFFFFFFFu
/* After the command exits, output pipes still held open by a background descendant are given up
 * once they have been idle this long (docs/agent-protocol.md). */
#define DRAIN_MS 100

/* Longest passwd field a login uses (name, home, shell); a longer entry is ignored. */
#define LOGIN_FIELD 1024
/* A bigger /etc/passwd is read up to here: PID 1 does not hold more for it. */
#define PASSWD_MAX (1u << 20)

static const char *const BASE_ENV[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "LANG=C.UTF-8", NULL};

static size_t key_len(const char *entry) {
  const char *eq = strchr(entry, '=');
  return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* A login (EXEC flag LOGIN): the user's passwd entry, as ssh would use it. */
struct login {
  char name[LOGIN_FIELD];
  char home[LOGIN_FIELD];
  char shell[LOGIN_FIELD];
  /* The variables a login sets, "KEY=value", under the host's own. */
  char env_home[LOGIN_FIELD + 8], env_user[LOGIN_FIELD + 8], env_logname[LOGIN_FIELD + 8], env_shell[LOGIN_FIELD + 8];
  char argv0[LOGIN_FIELD + 1]; /* "-" and the shell's name: how a shell knows it is a login shell */
};

/* Copies field [p, end) into dst (LOGIN_FIELD bytes); 0 if it does not fit. */
static int copy_field(char *dst, const char *p, const char *end) {
  size_t n = (size_t)(end - p);
  if (n >= LOGIN_FIELD) return 0;
  memcpy(dst, p, n);
  dst[n] = 0;
  return 1;
}

/* One passwd line, "name:password:uid:gid:gecos:home:shell", for `uid`; 1 when it matched. */
static int passwd_line(const char *p, const char *end, uint32_t uid, struct login *l) {
  const char *f[8];
  int n = 0;
  f[n++] = p;
  for (const char *c = p; c < end && n < 8; c++)
    if (*c == ':') f[n++] = c + 1;
  if (n != 7) return 0;
  const char *u = f[2], *uend = f[3] - 1;
  if (u == uend || uend - u > 10) return 0;
  uint64_t v = 0;
  for (const char *c = u; c < uend; c++) {
    if (*c < '0' || *c > '9') return 0;
    v = v * 10 + (uint64_t)(*c - '0');
  }
  if (v != uid) return 0;
  return copy_field(l->name, f[0], f[1] - 1) && copy_field(l->home, f[5], f[6] - 1) && copy_field(l->shell, f[6], end);
}

/* Finds uid's entry in /etc/passwd, read by the agent itself (no NSS in a static PID 1): opened
 * without blocking and read only if it is a regular file, at most PASSWD_MAX bytes (a bigger one
 * is cut there), every field bounded. 1 when found. */
static int passwd_lookup(uint32_t uid, struct login *l) {
  int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  char *buf = NULL;
  size_t len = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (buf = malloc(PASSWD_MAX))) {
    for (;;) {
      ssize_t n = read(fd, buf + len, PASSWD_MAX - len);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      len += (size_t)n;
      if (len == PASSWD_MAX) break;
    }
  }
  close(fd);
  int found = 0;
  for (const char *p = buf, *end = buf + len; buf && p < end && !found;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *eol = nl ? nl : end;
    found = *p != '#' && passwd_line(p, eol, uid, l);
    p = eol + 1;
  }
  free(buf);
  return found;
}

/* The login of `uid`: its passwd entry; without one (or with one that names no usable shell)
 * /bin/sh, and HOME /root for root, / for anyone else. */
static void login_resolve(uint32_t uid, struct login *l) {
  uint32_t u = uid == AS_AGENT ? 0 : uid;
  memset(l, 0, sizeof *l);
  if (!passwd_lookup(u, l)) {
    strcpy(l->name, u == 0 ? "root" : "");
    strcpy(l->home, u == 0 ? "/root" : "/");
  }
  if (!l->home[0]) strcpy(l->home, "/");
  if (!l->shell[0] || l->shell[0] != '/' || access(l->shell, X_OK) != 0) strcpy(l->shell, "/bin/sh");
  snprintf(l->env_home, sizeof l->env_home, "HOME=%s", l->home);
  snprintf(l->env_user, sizeof l->env_user, "USER=%s", l->name);
  snprintf(l->env_logname, sizeof l->env_logname, "LOGNAME=%s", l->name);
  snprintf(l->env_shell, sizeof l->env_shell, "SHELL=%s", l->shell);
  const char *base = strrchr(l->shell, '/');
  snprintf(l->argv0, sizeof l->argv0, "-%s", base ? base + 1 : l->shell);
}

/* The base environment (with a login's variables) and the host's entries applied in order, later
 * ones winning. */
static char **build_env(char **extra, uint32_t uid, struct login *l) {
  size_t n = 0;
  for (char **e = extra; *e; e++) n++;
  char **env = calloc(n + 8, sizeof *env);
  if (!env) return NULL;
  size_t len = 0;
  for (const char *const *b = BASE_ENV; *b; b++) env[len++] = (char *)*b;
  if (l) {
    env[len++] = l->env_home;
    if (l->name[0]) env[len++] = l->env_user, env[len++] = l->env_logname;
    env[len++] = l->env_shell;
  } else {
    env[len++] = (char *)(uid == 0 || uid == AS_AGENT ? "HOME=/root" : "HOME=/");
  }
  for (char **e = extra; *e; e++) {
    if (!strchr(*e, '=')) continue;
    size_t k = key_len(*e), i;
    for (i = 0; i < len; i++)
      if (key_len(env[i]) == k && strncmp(env[i], *e, k) == 0) break;
    env[i] = *e;
    if (i == len) len++;
  }
  return env;
}

/* execve with a PATH search taken from the command's own environment, like execvpe. */
static void exec_search(char **argv, char **env) {
  if (strchr(argv[0], '/')) {
    execve(argv[0], argv, env);
    return;
  }
  const char *path = "/usr/local/bin:/usr/bin:/bin";
  for (char **e = env; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  int err = ENOENT;
  char buf[4096];
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    size_t dlen = (size_t)(end - p);
    if (dlen + 1 + strlen(argv[0]) + 1 <= sizeof buf) {
      memcpy(buf, p, dlen);
      buf[dlen] = '/';
      strcpy(buf + dlen + 1, argv[0]);
      execve(buf, argv, env);
      if (errno != ENOENT && errno != ENOTDIR) err = errno;
    }
    if (!*end) break;
    p = end;
  }
  errno = err;
}

/* In the child: becomes the command or reports why not through `report`. Never returns. With a
 * pty (`tty` is its slave's path), the slave is stdin, stdout and stderr and the controlling
 * terminal of the command's new session. `path` is the program to run (NULL: argv[0], looked up
 * in PATH); `home` is where a login starts when `cwd` is empty (/ when it cannot go there). */
static void child(int in, int out, int err, const char *tty, int report, uint32_t uid, uint32_t gid, const char *cwd, const char *home,
                  const char *path, char **argv, char **env) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  setsid();
  if (tty) {
    int slave = open(tty, O_RDWR);
    if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) goto fail;
    in = out = err = slave;
  }
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) goto fail;
  if (gid != AS_AGENT && (setgroups(0, NULL) < 0 || setgid(gid) < 0)) goto fail;
  if (uid != AS_AGENT && setuid(uid) < 0) goto fail;
  if (*cwd) {
    if (chdir(cwd) < 0) goto fail;
  } else if (!home || chdir(home) < 0) {
    if (chdir("/") < 0) goto fail;
  }
#ifdef KILN_TEST_HOOKS
  /* agent-test's slow start (test-hooks build only): a command whose environment has
   * KILN_TEST_SLOW_START=ms waits that long before execve, as a hung cwd or binary would. */
  for (char **e = env; *e; e++)
    if (strncmp(*e, "KILN_TEST_SLOW_START=", 21) == 0) {
      long ms = atol(*e + 21);
      struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
      nanosleep(&ts, NULL);
    }
#endif
  if (path)
    execve(path, argv, env);
  else
    exec_search(argv, env);
fail:;
  int e = errno;
  if (write(report, &e, sizeof e) < 0) _exit(126);
  _exit(127);
}

static int cloexec_pipe(int p[2]) {
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  return 0;
}

void exec_start(uint32_t id, struct reader *r) {
  struct exec_req x;
  int malformed = decode_exec(r, &x) < 0;
  uint32_t flags = x.flags, uid = x.uid, gid = x.gid, timeout_ms = x.timeout_ms;
  char *cwd = x.cwd;
  char **argv = x.argv;
  char **extra = x.env;
  struct winsize ws = {.ws_row = x.rows, .ws_col = x.cols};
  char **env = NULL;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, rep[2] = {-1, -1};
  int master = -1;
  char tty[64] = "";
  if (malformed) {
    bad_request(id, r, "EXEC");
    goto done;
  }
  struct login login;
  const char *path = NULL, *home = NULL;
  char *login_argv[2] = {login.argv0, NULL};
  if (flags & EXEC_LOGIN) {
    login_resolve(uid, &login);
    home = login.home;
    if (!argv[0]) { /* no command: the user's login shell, as "-sh" */
      path = login.shell;
      strv_free(argv);
      argv = NULL;
    }
  } else if (!argv[0]) {
    send_error(id, EINVAL, "exec: empty argv");
    goto done;
  }
  char **run = argv ? argv : login_argv;
  env = build_env(extra, uid, (flags & EXEC_LOGIN) ? &login : NULL);
  int ok = env && cloexec_pipe(rep) == 0;
  if (ok && (flags & EXEC_PTY)) {
    ok = (master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0 && grantpt(master) == 0 && unlockpt(master) == 0 &&
         ptsname_r(master, tty, sizeof tty) == 0 && ioctl(master, TIOCSWINSZ, &ws) == 0;
  } else if (ok) {
    ok = cloexec_pipe(out) == 0 && cloexec_pipe(err) == 0;
    if (ok && (flags & EXEC_KEEP_STDIN))
      ok = cloexec_pipe(in) == 0;
    else if (ok)
      ok = (in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;
  }
  struct stream *s = ok ? stream_new(id, S_EXEC) : NULL;
  if (!s) {
    send_error(id, errno ? errno : ENOMEM, "exec %s: %s", path ? path : run[0], strerror(errno ? errno : ENOMEM));
    goto done;
  }
  pid_t pid = fork();
  if (pid == 0) child(in[0], out[1], err[1], master >= 0 ? tty : NULL, rep[1], uid, gid, cwd, home, path, run, env);
  close(rep[1]);
  rep[1] = -1;
  if (pid < 0) {
    int e = errno;
    s->dead = 1;
    send_error(id, e, "exec %s: %s", path ? path : run[0], strerror(e));
    goto done;
  }
  /* The child may take its time to reach execve (a slow cwd, a slow binary): the loop does not
   * wait for it. Its report pipe is polled; exec_report sends STARTED or ERROR. */
  s->x.pid = pid;
  s->x.report_fd = rep[0];
  rep[0] = -1;
  fcntl(s->x.report_fd, F_SETFL, O_NONBLOCK);
  const char *what = path ? path : run[0];
  size_t wn = strnlen(what, sizeof s->x.what - 1); /* a longer name is cut in the message */
  memcpy(s->x.what, what, wn);
  s->x.what[wn] = 0;
  if (master >= 0) {
    /* One terminal: its output is STDOUT, STDIN writes to it; separate fds so that closing stdin
     * (a dup) leaves the output side open. */
    s->x.pty_fd = master;
    s->x.out_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
    s->x.in_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
    master = -1;
    fcntl(s->x.out_fd, F_SETFL, O_NONBLOCK);
    fcntl(s->x.in_fd, F_SETFL, O_NONBLOCK);
  } else {
    s->x.out_fd = out[0];
    s->x.err_fd = err[0];
    out[0] = err[0] = -1;
    fcntl(s->x.out_fd, F_SETFL, O_NONBLOCK);
    fcntl(s->x.err_fd, F_SETFL, O_NONBLOCK);
    if (flags & EXEC_KEEP_STDIN) {
      s->x.in_fd = in[1];
      in[1] = -1;
      fcntl(s->x.in_fd, F_SETFL, O_NONBLOCK);
    }
  }
  if (timeout_ms) s->x.deadline_ms = now_ms() + timeout_ms;
done:
  if (master >= 0) close(master);
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0) close(in[i]);
    if (out[i] >= 0) close(out[i]);
    if (err[i] >= 0) close(err[i]);
    if (rep[i] >= 0) close(rep[i]);
  }
  free(env);
  free(cwd);
  strv_free(argv);
  strv_free(extra);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

void exec_report(struct stream *s) {
  int child_errno = 0;
  ssize_t got = read(s->x.report_fd, &child_errno, sizeof child_errno);
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
  close_fd(&s->x.report_fd);
  if (got == (ssize_t)sizeof child_errno && child_errno) {
    /* The child exits at once (127); the loop reaps it like any other. */
    exec_cancel(s);
    s->dead = 1;
    send_error(s->id, child_errno, "exec %s: %s", s->x.what, strerror(child_errno));
    return;
  }
  pid_t pid = s->x.pid;
  uint8_t p[4] = {(uint8_t)(pid >> 24), (uint8_t)(pid >> 16), (uint8_t)(pid >> 8), (uint8_t)pid};
  send_frame(T_STARTED, s->id, p, 4);
}

/* Gives the host back the window of stdin bytes that will never reach the pipe. */
static void drop_stdin(struct stream *s) {
  if (s->x.in_len) {
    s->recv_window += s->x.in_len;
    send_window(s->id, (uint32_t)s->x.in_len);
  }
  s->x.in_len = 0;
  close_fd(&s->x.in_fd);
}

void exec_stdin(struct stream *s, const uint8_t *p, size_t n) {
  if (s->x.in_fd < 0 || s->x.in_close) {
    /* Nobody will read it (no stdin, or already closed): acknowledge and discard. */
    s->recv_window += n;
    if (n) send_window(s->id, (uint32_t)n);
    return;
  }
  if (!s->x.in_buf && !(s->x.in_buf = malloc(INITIAL_WINDOW))) {
    agent_log("out of memory for stdin of stream %u", s->id);
    s->recv_window += n;
    drop_stdin(s);
    return;
  }
  /* The window guarantees in_len + n <= INITIAL_WINDOW. */
  memcpy(s->x.in_buf + s->x.in_len, p, n);
  s->x.in_len += n;
}

void exec_stdin_close(struct stream *s) {
  s->x.in_close = 1;
  if (s->x.in_len == 0) close_fd(&s->x.in_fd);
}

void exec_signal(struct stream *s, uint32_t signo) {
  if (signo == 0 || signo >= 65) return;
  /* A child still starting may not have made its process group yet: then it gets the signal. */
  if (!s->x.exited || s->x.out_fd >= 0 || s->x.err_fd >= 0)
    if (kill(-s->x.pid, (int)signo) < 0 && errno == ESRCH && !s->x.exited) kill(s->x.pid, (int)signo);
}

void exec_resize(struct stream *s, uint16_t rows, uint16_t cols) {
  struct winsize ws = {.ws_row = rows, .ws_col = cols};
  if (s->x.pty_fd >= 0) ioctl(s->x.pty_fd, TIOCSWINSZ, &ws);
}

void exec_cancel(struct stream *s) {
  if (!s->x.exited && s->x.pid > 0) {
    kill(-s->x.pid, SIGKILL);
    kill(s->x.pid, SIGKILL); /* still starting: not yet in its own process group */
  }
  close_fd(&s->x.report_fd);
  close_fd(&s->x.pty_fd);
  close_fd(&s->x.in_fd);
  close_fd(&s->x.out_fd);
  close_fd(&s->x.err_fd);
}

void exec_reaped(struct stream *s, int status, const struct rusage *ru) {
  s->x.exited = 1;
  s->x.status = status;
  s->x.ru = *ru;
  s->x.drain_at_ms = now_ms() + DRAIN_MS;
}

static void pump_output(struct stream *s, int *fd, uint8_t type) {
  size_t want = s->credit < DATA_CHUNK ? (size_t)s->credit : DATA_CHUNK;
  if (want == 0) return;
  uint8_t *buf = data_scratch();
  ssize_t n = read(*fd, buf + FRAME_HEADER, want);
  if (n > 0) {
    s->credit -= (uint64_t)n;
    send_data_frame(type, s->id, buf, (size_t)n);
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    close_fd(fd);
  }
}

static void pump_stdin(struct stream *s) {
  ssize_t n = write(s->x.in_fd, s->x.in_buf, s->x.in_len);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    drop_stdin(s); /* EPIPE: the command closed its stdin */
    return;
  }
  memmove(s->x.in_buf, s->x.in_buf + n, s->x.in_len - (size_t)n);
  s->x.in_len -= (size_t)n;
  s->recv_window += (uint64_t)n;
  send_window(s->id, (uint32_t)n);
  if (s->x.in_len == 0 && s->x.in_close) close_fd(&s->x.in_fd);
}

void exec_pump(struct stream *s, int fd, short revents) {
  if (fd == s->x.report_fd)
    exec_report(s);
  else if (fd == s->x.out_fd)
    pump_output(s, &s->x.out_fd, T_STDOUT);
  else if (fd == s->x.err_fd)
    pump_output(s, &s->x.err_fd, T_STDERR);
  else if (fd == s->x.in_fd)
    (revents & (POLLERR | POLLHUP)) ? drop_stdin(s) : pump_stdin(s);
}

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t micros(struct timeval tv) {
  return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static void send_exit(struct stream *s) {
  uint8_t p[1 + 4 + 1 + 8 + 8 + 8];
  int st = s->x.status;
  uint8_t kind = WIFSIGNALED(st) ? 1 : 0;
  uint32_t value = (uint32_t)(kind ? WTERMSIG(st) : WEXITSTATUS(st));
  p[0] = kind;
  for (int i = 0; i < 4; i++) p[1 + i] = (uint8_t)(value >> (24 - 8 * i));
  p[5] = (uint8_t)s->x.timed_out;
  put_u64(p + 6, micros(s->x.ru.ru_utime));
  put_u64(p + 14, micros(s->x.ru.ru_stime));
  put_u64(p + 22, (uint64_t)s->x.ru.ru_maxrss);
  send_frame(T_EXIT, s->id, p, sizeof p);
}

/* An output pipe is abandoned after exit only while it is empty: output the command wrote before
 * exiting is never cut off, however slowly the host takes it. */
static void give_up_if_idle(int *fd) {
  int avail = 0;
  if (*fd >= 0 && ioctl(*fd, FIONREAD, &avail) == 0 && avail == 0) close_fd(fd);
}

int64_t exec_tick(struct stream *s, int64_t now) {
  if (!s->x.exited || s->x.report_fd >= 0) { /* running, or exited before STARTED went out */
    if (!s->x.exited && s->x.deadline_ms && now >= s->x.deadline_ms) {
      kill(-s->x.pid, SIGKILL);
      kill(s->x.pid, SIGKILL); /* still starting: not yet in its own process group */
      s->x.timed_out = 1;
      s->x.deadline_ms = 0;
    }
    return s->x.exited ? 0 : s->x.deadline_ms;
  }
  if ((s->x.out_fd >= 0 || s->x.err_fd >= 0) && now >= s->x.drain_at_ms) {
    give_up_if_idle(&s->x.out_fd);
    give_up_if_idle(&s->x.err_fd);
    s->x.drain_at_ms = now + DRAIN_MS;
  }
  if (s->x.out_fd >= 0 || s->x.err_fd >= 0) return s->x.drain_at_ms;
  if (output_held()) return 0; /* its EXIT waits for the host that takes the session; a HELLO wakes the loop */
  close_fd(&s->x.in_fd);
  close_fd(&s->x.pty_fd);
  send_exit(s);
  s->dead = 1;
  return 0;
}
