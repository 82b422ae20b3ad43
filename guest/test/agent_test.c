/* Protocol tests of the real agent binary: it serves a socketpair (--fd) and this program plays the
 * host, frame by frame. Run by `make test` with the agent's path. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

static int host = -1;
static pid_t agent = -1;
static int failures, checks;
static uint32_t next_stream = 1;
static char tmp[] = "/tmp/kiln-agent-test.XXXXXX";

#define CHECK(cond, ...)                                   \
  do {                                                     \
    checks++;                                              \
    if (!(cond)) {                                         \
      failures++;                                          \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
    }                                                      \
  } while (0)

struct msg {
  struct frame_header h;
  uint8_t *p;
};

static void send_raw(uint8_t type, uint32_t stream, const void *p, size_t n) {
  uint8_t h[FRAME_HEADER];
  header_encode(h, type, stream, (uint32_t)n);
  if (write(host, h, sizeof h) != (ssize_t)sizeof h || (n && write(host, p, n) != (ssize_t)n)) {
    perror("write to agent");
    exit(2);
  }
}

static void send_w(uint8_t type, uint32_t stream, struct writer *w) {
  if (w->bad) {
    fprintf(stderr, "agent-test: a frame of type 0x%02x could not be built\n", type);
    exit(2);
  }
  send_raw(type, stream, w->buf, w->len);
  writer_free(w);
}

static int read_exact(uint8_t *buf, size_t n, int timeout_ms) {
  size_t got = 0;
  while (got < n) {
    struct pollfd p = {.fd = host, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0) return -1;
    ssize_t r = read(host, buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/* The next frame, or type 0 after `timeout_ms` of silence. WINDOW frames are skipped unless asked. */
static struct msg recv_msg_t(int timeout_ms, int keep_windows) {
  struct msg m = {0};
  for (;;) {
    uint8_t h[FRAME_HEADER];
    if (read_exact(h, sizeof h, timeout_ms) < 0) return (struct msg){0};
    header_decode(h, &m.h);
    if (m.h.length > MAX_PAYLOAD) {
      fprintf(stderr, "agent sent an oversized frame\n");
      exit(2);
    }
    free(m.p);
    m.p = malloc(m.h.length + 1);
    if (!m.p) {
      perror("agent-test: malloc");
      exit(2);
    }
    if (read_exact(m.p, m.h.length, timeout_ms) < 0) return (struct msg){0};
    if (m.h.type != T_WINDOW || keep_windows) return m;
  }
}

static struct msg recv_msg(void) {
  return recv_msg_t(10000, 0);
}

static void grant(uint32_t stream, uint32_t n) {
  struct writer w;
  writer_init(&w, 16);
  wr_u32(&w, n);
  send_w(T_WINDOW, stream, &w);
}

static uint32_t path_op(uint8_t type, const char *path) {
  struct writer w;
  writer_init(&w, 1 << 17);
  wr_str(&w, path, strlen(path));
  uint32_t id = next_stream++;
  send_w(type, id, &w);
  return id;
}

/* An EXEC as `uid` in `cwd` with the environment `env` (NULL-terminated); with flag 2 (pty) the
 * terminal is rows x cols. */
static uint32_t exec_full(uint32_t flags, uint32_t uid, const char *cwd, uint32_t timeout_ms, uint16_t rows, uint16_t cols,
                          const char *const *argv, const char *const *env) {
  struct writer w;
  writer_init(&w, 1 << 20);
  wr_u32(&w, flags);
  wr_u32(&w, uid);
  wr_u32(&w, uid);
  wr_u32(&w, timeout_ms);
  wr_str(&w, cwd, strlen(cwd));
  uint32_t n = 0;
  while (argv[n]) n++;
  wr_u32(&w, n);
  for (uint32_t i = 0; i < n; i++) wr_str(&w, argv[i], strlen(argv[i]));
  n = 0;
  while (env[n]) n++;
  wr_u32(&w, n);
  for (uint32_t i = 0; i < n; i++) wr_str(&w, env[i], strlen(env[i]));
  if (flags & 2) {
    uint8_t size[4] = {(uint8_t)(rows >> 8), (uint8_t)rows, (uint8_t)(cols >> 8), (uint8_t)cols};
    wr_bytes(&w, size, 4);
  }
  uint32_t id = next_stream++;
  send_w(T_EXEC, id, &w);
  return id;
}

/* An EXEC; with flag 2 (pty) the terminal is rows x cols. */
static uint32_t exec_pty(uint32_t flags, uint32_t timeout_ms, uint16_t rows, uint16_t cols, const char *const *argv) {
  return exec_full(flags, 0xFFFFFFFFu, tmp, timeout_ms, rows, cols, argv, (const char *const[]){"KILN_TEST=yes", NULL});
}

static uint32_t exec_v(uint32_t flags, uint32_t timeout_ms, const char *const *argv) {
  return exec_pty(flags, timeout_ms, 0, 0, argv);
}

struct result {
  int started, kind, value, timed_out, error;
  char out[4096], err[4096];
  size_t out_len, err_len;
  uint64_t maxrss;
};

/* Collects one exec stream to its EXIT, granting window as output arrives. */
static struct result collect(uint32_t id) {
  struct result r = {0};
  for (;;) {
    struct msg m = recv_msg();
    if (m.h.type == 0) {
      r.error = -1;
      return r;
    }
    if (m.h.stream != id) continue;
    struct reader rd;
    reader_init(&rd, m.p, m.h.length);
    switch (m.h.type) {
      case T_STARTED: r.started = (int)rd_u32(&rd); break;
      case T_STDOUT:
      case T_STDERR: {
        char *dst = m.h.type == T_STDOUT ? r.out : r.err;
        size_t *len = m.h.type == T_STDOUT ? &r.out_len : &r.err_len;
        size_t room = 4095 - *len, n = m.h.length < room ? m.h.length : room;
        memcpy(dst + *len, m.p, n);
        *len += n;
        dst[*len] = 0;
        grant(id, m.h.length);
        break;
      }
      case T_ERROR: r.error = (int)rd_u32(&rd); free(m.p); return r;
      case T_EXIT:
        r.kind = rd_u8(&rd);
        r.value = (int)rd_u32(&rd);
        r.timed_out = rd_u8(&rd);
        rd_u64(&rd);
        rd_u64(&rd);
        r.maxrss = rd_u64(&rd);
        CHECK(reader_done(&rd), "EXIT payload is exactly 30 bytes, got %u", m.h.length);
        free(m.p);
        return r;
    }
    free(m.p);
  }
}

static struct result run(const char *const *argv) {
  return collect(exec_v(0, 0, argv));
}

static void start_agent(const char *path) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) exit(2);
  agent = fork();
  if (agent == 0) {
    dup2(sv[1], 3);
    execl(path, path, "--fd", "3", (char *)NULL);
    _exit(127);
  }
  close(sv[1]);
  host = sv[0];
}

/* HELLO with flags and a nonce; returns HELLO_OK's payload reader over *m (the caller frees m->p). */
static struct reader hello_with(uint32_t flags, const char *nonce, struct msg *m) {
  struct writer w;
  writer_init(&w, 256);
  wr_u32(&w, PROTO_VERSION);
  wr_u64(&w, 1);
  wr_str(&w, "entropy", 7);
  wr_u32(&w, flags);
  wr_str(&w, nonce, strlen(nonce));
  send_w(T_HELLO, 0, &w);
  *m = recv_msg();
  CHECK(m->h.type == T_HELLO_OK && m->h.stream == 0, "HELLO is answered with HELLO_OK, got 0x%02x", m->h.type);
  struct reader r;
  reader_init(&r, m->p, m->h.length);
  uint32_t nlen;
  const uint8_t *echoed = rd_blob(&r, &nlen);
  CHECK(echoed && nlen == strlen(nonce) && memcmp(echoed, nonce, nlen) == 0, "HELLO_OK starts with the host's nonce");
  CHECK(rd_u32(&r) == PROTO_VERSION, "agent speaks version 1");
  uint32_t vlen;
  rd_blob(&r, &vlen);
  return r;
}

static void hello(void) {
  struct msg m;
  struct reader r = hello_with(0, "first-nonce", &m);
  CHECK(rd_u32(&r) == 0 && reader_done(&r), "a new session lists no running commands");
  free(m.p);
}

/* A HELLO that resumes keeps a running command and lists it; it can still be signalled. */
static void test_resume_keeps_running_commands(void) {
  uint32_t id = exec_v(0, 0, (const char *const[]){"sleep", "100", NULL});
  struct msg m = recv_msg();
  CHECK(m.h.type == T_STARTED, "sleep starts");
  struct reader sr;
  reader_init(&sr, m.p, m.h.length);
  uint32_t pid = rd_u32(&sr);
  free(m.p);
  struct reader r = hello_with(1, "resume-nonce", &m);
  uint32_t n = rd_u32(&r);
  uint32_t sid = rd_u32(&r);
  uint32_t spid = rd_u32(&r);
  CHECK(n == 1 && sid == id && spid == pid && reader_done(&r), "HELLO_OK lists the running command: n=%u id=%u pid=%u", n, sid, spid);
  free(m.p);
  struct writer w;
  writer_init(&w, 8);
  wr_u32(&w, SIGKILL);
  send_w(T_SIGNAL, id, &w);
  struct result res = collect(id);
  CHECK(res.kind == 1 && res.value == SIGKILL, "the resumed command is still the host's to signal");
}

static void test_exec_basics(void) {
  struct result r = run((const char *const[]){"echo", "hi", NULL});
  CHECK(r.started > 0 && r.kind == 0 && r.value == 0 && strcmp(r.out, "hi\n") == 0, "echo hi: out=%s", r.out);
  CHECK(r.maxrss > 0, "peak RSS is reported");
  r = run((const char *const[]){"sh", "-c", "echo oops >&2; exit 3", NULL});
  CHECK(r.value == 3 && strcmp(r.err, "oops\n") == 0, "exit code and stderr: %d %s", r.value, r.err);
  r = run((const char *const[]){"sh", "-c", "echo $KILN_TEST:$HOME:$PWD", NULL});
  char want[256];
  snprintf(want, sizeof want, "yes:/root:%s\n", tmp);
  CHECK(strcmp(r.out, want) == 0, "env, HOME and cwd: %s", r.out);
  r = run((const char *const[]){"/no/such/binary", NULL});
  CHECK(r.error == ENOENT, "a missing binary is ERROR ENOENT, got %d", r.error);
  r = run((const char *const[]){"no-such-command-on-path", NULL});
  CHECK(r.error == ENOENT, "a command not on PATH is ERROR ENOENT, got %d", r.error);
}

static void test_pty(void) {
  struct result r = collect(exec_pty(2, 0, 24, 80, (const char *const[]){"stty", "size", NULL}));
  CHECK(r.value == 0 && strcmp(r.out, "24 80\r\n") == 0, "a pty of the size asked for: '%s'", r.out);
  r = collect(exec_pty(2, 0, 24, 80, (const char *const[]){"sh", "-c", "test -t 0 && test -t 1 && tty", NULL}));
  CHECK(r.value == 0 && strncmp(r.out, "/dev/pts/", 9) == 0, "stdin and stdout are the terminal: '%s'", r.out);

  uint32_t id = exec_pty(2, 0, 24, 80, (const char *const[]){"sh", "-c", "read line; stty size; exit 4", NULL});
  struct msg m = recv_msg();
  CHECK(m.h.type == T_STARTED, "a pty shell starts");
  free(m.p);
  uint8_t size[4] = {0, 40, 0, 120};
  send_raw(T_RESIZE, id, size, 4);
  send_raw(T_STDIN, id, "go\n", 3);
  r = collect(id);
  CHECK(r.value == 4 && strstr(r.out, "40 120\r\n") != NULL, "RESIZE changes the size the command sees: '%s'", r.out);
}

#define EXEC_LOGIN 4u

/* What the agent should make of root's passwd entry on this host: its shell when it can run it. */
static void root_login(char *home, size_t hn, char *shell, size_t sn) {
  struct passwd *pw = getpwuid(0);
  snprintf(home, hn, "%s", pw && pw->pw_dir[0] ? pw->pw_dir : "/root");
  snprintf(shell, sn, "%s", pw && pw->pw_shell[0] == '/' && access(pw->pw_shell, X_OK) == 0 ? pw->pw_shell : "/bin/sh");
}

static void test_login(void) {
  char home[512], shell[512], want[2048];
  root_login(home, sizeof home, shell, sizeof shell);
  const char *const show[] = {"sh", "-c", "echo $HOME:$USER:$LOGNAME:$SHELL:$(pwd):$KILN_TEST", NULL};
  const char *const env[] = {"KILN_TEST=yes", NULL};
  struct result r = collect(exec_full(EXEC_LOGIN, 0xFFFFFFFFu, "", 0, 0, 0, show, env));
  snprintf(want, sizeof want, "%s:root:root:%s:%s:yes\n", home, shell, home);
  CHECK(r.value == 0 && strcmp(r.out, want) == 0, "a login has root's HOME, USER, LOGNAME, SHELL and starts at home: '%s', wanted '%s'", r.out, want);

  r = collect(exec_full(EXEC_LOGIN, 0xFFFFFFFFu, tmp, 0, 0, 0, show, (const char *const[]){"HOME=/elsewhere", "USER=someone", NULL}));
  snprintf(want, sizeof want, "/elsewhere:someone:root:%s:%s:\n", shell, tmp);
  CHECK(strcmp(r.out, want) == 0, "the host's env wins over the login's, and a cwd given is kept: '%s', wanted '%s'", r.out, want);

  r = collect(exec_full(EXEC_LOGIN, 54321, "", 0, 0, 0, show, env));
  CHECK(strcmp(r.out, "/:::/bin/sh:/:yes\n") == 0, "a uid with no passwd entry gets /bin/sh in /: '%s'", r.out);

  r = collect(exec_full(0, 0xFFFFFFFFu, "", 0, 0, 0, show, env));
  CHECK(strcmp(r.out, "/root::::/:yes\n") == 0, "without LOGIN nothing changes: '%s'", r.out);

  /* No argv: the login shell itself, told it is one by a leading '-' in its argv[0]. */
  uint32_t id = exec_full(EXEC_LOGIN | 2, 0xFFFFFFFFu, "", 0, 24, 80, (const char *const[]){NULL}, env);
  const char *keys = "echo \"[$0]\"; exit 5\n";
  send_raw(T_STDIN, id, keys, strlen(keys));
  r = collect(id);
  const char *base = strrchr(shell, '/');
  snprintf(want, sizeof want, "[-%s]", base ? base + 1 : shell);
  CHECK(r.value == 5 && strstr(r.out, want) != NULL, "an empty argv runs the login shell as %s: '%s'", want, r.out);

  r = collect(exec_full(0, 0xFFFFFFFFu, "", 0, 0, 0, (const char *const[]){NULL}, env));
  CHECK(r.error == EINVAL, "an empty argv without LOGIN is still refused: %d", r.error);
}

static void test_stdin_signal_timeout(void) {
  uint32_t id = exec_v(1, 0, (const char *const[]){"cat", NULL});
  send_raw(T_STDIN, id, "abc", 3);
  send_raw(T_STDIN_CLOSE, id, NULL, 0);
  struct result r = collect(id);
  CHECK(strcmp(r.out, "abc") == 0 && r.value == 0, "stdin reaches cat: %s", r.out);

  id = exec_v(0, 0, (const char *const[]){"sleep", "100", NULL});
  struct msg m = recv_msg();
  CHECK(m.h.type == T_STARTED, "sleep starts");
  free(m.p);
  struct writer w;
  writer_init(&w, 8);
  wr_u32(&w, SIGTERM);
  send_w(T_SIGNAL, id, &w);
  r = collect(id);
  CHECK(r.kind == 1 && r.value == SIGTERM && !r.timed_out, "SIGNAL kills: kind=%d value=%d", r.kind, r.value);

  r = collect(exec_v(0, 200, (const char *const[]){"sleep", "100", NULL}));
  CHECK(r.kind == 1 && r.value == SIGKILL && r.timed_out, "timeout kills with SIGKILL and says so");

  time_t t0 = time(NULL);
  r = run((const char *const[]){"sh", "-c", "sleep 5 & echo bg", NULL});
  CHECK(strcmp(r.out, "bg\n") == 0 && time(NULL) - t0 < 3, "a background child holding stdout does not delay EXIT");
}

static void test_flow_control(void) {
  uint32_t id = exec_v(0, 0, (const char *const[]){"head", "-c", "1000000", "/dev/zero", NULL});
  size_t got = 0;
  struct msg m;
  while ((m = recv_msg_t(500, 0)).h.type) {
    if (m.h.type == T_STDOUT) got += m.h.length;
    free(m.p);
  }
  CHECK(got == INITIAL_WINDOW, "without credit the agent stops at the window: %zu", got);
  int exited = 0;
  while (!exited && (m = recv_msg_t(0, 0)).h.type == 0) {
    grant(id, (uint32_t)got);
    got = 0;
    while ((m = recv_msg_t(500, 0)).h.type) {
      if (m.h.type == T_STDOUT) got += m.h.length;
      if (m.h.type == T_EXIT) exited = 1;
      free(m.p);
      if (exited) break;
    }
  }
  CHECK(exited, "output completes once credit is granted");
}

static void write_file(const char *path, const char *data, uint32_t flags) {
  struct writer w;
  writer_init(&w, 1 << 17);
  wr_u32(&w, 0600);
  wr_u32(&w, flags);
  wr_str(&w, path, strlen(path));
  uint32_t id = next_stream++;
  send_w(T_FILE_WRITE, id, &w);
  send_raw(T_DATA, id, data, strlen(data));
  send_raw(T_END, id, NULL, 0);
  struct msg m = recv_msg();
  CHECK(m.h.type == T_OK, "FILE_WRITE opens: 0x%02x", m.h.type);
  free(m.p);
  m = recv_msg();
  struct reader r;
  reader_init(&r, m.p, m.h.length);
  CHECK(m.h.type == T_OK && rd_u64(&r) == strlen(data), "FILE_WRITE reports the bytes written");
  free(m.p);
}

static uint32_t expect_ok_or_error(uint32_t id) {
  struct msg m = recv_msg();
  CHECK(m.h.stream == id, "reply on the right stream");
  struct reader r;
  reader_init(&r, m.p, m.h.length);
  uint32_t err = m.h.type == T_ERROR ? rd_u32(&r) : m.h.type == T_OK ? 0 : 0xFFFF;
  free(m.p);
  return err;
}

static void test_files(void) {
  char dir[512], file[600], moved[600];
  snprintf(dir, sizeof dir, "%s/a/b", tmp);
  snprintf(file, sizeof file, "%s/f.txt", dir);
  snprintf(moved, sizeof moved, "%s/g.txt", dir);
  write_file(file, "hello", 1);
  struct stat st;
  CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 5, "file written with its mode");

  uint32_t id = path_op(T_FILE_READ, file);
  struct msg m = recv_msg();
  CHECK(m.h.type == T_OK, "FILE_READ opens");
  free(m.p);
  m = recv_msg();
  CHECK(m.h.type == T_DATA && m.h.length == 5 && memcmp(m.p, "hello", 5) == 0, "FILE_READ returns the content");
  free(m.p);
  m = recv_msg();
  CHECK(m.h.type == T_END && m.h.stream == id, "FILE_READ ends with END");
  free(m.p);

  id = path_op(T_STAT, file);
  m = recv_msg();
  struct reader r;
  reader_init(&r, m.p, m.h.length);
  uint8_t kind = rd_u8(&r);
  uint32_t mode = rd_u32(&r);
  uint64_t size = rd_u64(&r);
  rd_u64(&r);
  char *name = rd_str(&r);
  CHECK(m.h.type == T_STAT_RESULT && kind == 0 && mode == 0600 && size == 5 && name && strcmp(name, "f.txt") == 0 && reader_done(&r),
        "STAT describes the file");
  free(name);
  free(m.p);

  for (int i = 0; i < 1500; i++) {
    char p[700];
    snprintf(p, sizeof p, "%s/n%04d", dir, i);
    close(open(p, O_CREAT | O_WRONLY, 0644));
  }
  id = path_op(T_LIST, dir);
  uint32_t total = 0, frames = 0;
  while ((m = recv_msg()).h.type == T_LIST_ENTRIES) {
    reader_init(&r, m.p, m.h.length);
    total += rd_u32(&r);
    frames++;
    free(m.p);
  }
  CHECK(m.h.type == T_END && total == 1501 && frames >= 2, "LIST spans frames: %u entries in %u frames", total, frames);
  free(m.p);

  struct writer w;
  writer_init(&w, 1 << 17);
  wr_str(&w, file, strlen(file));
  wr_str(&w, moved, strlen(moved));
  id = next_stream++;
  send_w(T_RENAME, id, &w);
  CHECK(expect_ok_or_error(id) == 0 && access(moved, F_OK) == 0, "RENAME moves");

  writer_init(&w, 1 << 17);
  wr_u32(&w, 0);
  wr_u32(&w, 1);
  snprintf(dir, sizeof dir, "%s/x/y/z", tmp);
  wr_str(&w, dir, strlen(dir));
  id = next_stream++;
  send_w(T_MKDIR, id, &w);
  CHECK(expect_ok_or_error(id) == 0 && access(dir, F_OK) == 0, "MKDIR -p");

  id = path_op(T_FILE_READ, "/no/such/file");
  CHECK(expect_ok_or_error(id) == ENOENT, "FILE_READ of a missing file is ENOENT");

  snprintf(dir, sizeof dir, "%s/a", tmp);
  char link[600];
  snprintf(link, sizeof link, "%s/a/b/outside", tmp);
  symlink("/etc", link);
  writer_init(&w, 1 << 17);
  wr_u32(&w, 1);
  wr_str(&w, dir, strlen(dir));
  id = next_stream++;
  send_w(T_REMOVE, id, &w);
  CHECK(expect_ok_or_error(id) == 0 && access(dir, F_OK) != 0 && access("/etc/passwd", F_OK) == 0,
        "recursive REMOVE deletes the tree and does not follow symlinks");

  /* Frames for a stream that is already over are a normal race, not an error. */
  send_raw(T_DATA, 999999, "late", 4);
  id = next_stream++;
  send_raw(T_SYNC, id, NULL, 0);
  CHECK(expect_ok_or_error(id) == 0, "SYNC answers OK");
}

/* An upload never blocks the agent on what the guest put at the path: a FIFO (with or without a
 * reader), a symlink to one, a device are refused at once; a regular file through a symlink is fine. */
static uint32_t write_open(const char *path) {
  struct writer w;
  writer_init(&w, 1 << 17);
  wr_u32(&w, 0600);
  wr_u32(&w, 0);
  wr_str(&w, path, strlen(path));
  uint32_t id = next_stream++;
  send_w(T_FILE_WRITE, id, &w);
  return id;
}

static void test_upload_refuses_what_is_not_a_regular_file(void) {
  char fifo[600], link[600], file[600], via[600];
  snprintf(fifo, sizeof fifo, "%s/planted.fifo", tmp);
  snprintf(link, sizeof link, "%s/to.fifo", tmp);
  snprintf(file, sizeof file, "%s/real.txt", tmp);
  snprintf(via, sizeof via, "%s/to.real", tmp);
  CHECK(mkfifo(fifo, 0666) == 0 && symlink(fifo, link) == 0 && symlink(file, via) == 0, "fixtures");
  CHECK(expect_ok_or_error(write_open(fifo)) == EINVAL, "a FIFO no one reads is refused, not waited on");
  CHECK(expect_ok_or_error(write_open(link)) == EINVAL, "so is a symlink to it");
  int reader = open(fifo, O_RDONLY | O_NONBLOCK);
  CHECK(reader >= 0 && expect_ok_or_error(write_open(fifo)) == EINVAL, "and a FIFO someone reads");
  if (reader >= 0) close(reader);
  CHECK(expect_ok_or_error(write_open("/dev/null")) == EINVAL, "a device is refused");
  write_file(via, "through a link", 0);
  struct stat st;
  CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 14, "a regular file is written through a symlink to it");
  uint32_t id = next_stream++;
  send_raw(T_SYNC, id, NULL, 0);
  CHECK(expect_ok_or_error(id) == 0, "the agent carries on");
}

/* An upload replaces its file whole or not at all: one cut off midway (the host cancels it) leaves
 * the old content and no new file beside it; one that ends keeps the old file's mode. */
static void test_upload_replaces_whole_or_not_at_all(void) {
  char dir[600], file[700];
  snprintf(dir, sizeof dir, "%s/atomic", tmp);
  snprintf(file, sizeof file, "%s/kept.txt", dir);
  CHECK(mkdir(dir, 0755) == 0, "fixture dir");
  int fd = open(file, O_CREAT | O_WRONLY, 0640);
  CHECK(fd >= 0 && write(fd, "old content", 11) == 11 && close(fd) == 0 && chmod(file, 0640) == 0, "fixture file");

  uint32_t id = write_open(file);
  CHECK(expect_ok_or_error(id) == 0, "the upload opens");
  send_raw(T_DATA, id, "new but cut", 11);
  send_raw(T_CANCEL, id, NULL, 0);
  uint32_t sync = next_stream++;
  send_raw(T_SYNC, sync, NULL, 0);
  CHECK(expect_ok_or_error(sync) == 0, "the agent carries on after the cancel");
  char buf[64] = {0};
  fd = open(file, O_RDONLY);
  CHECK(fd >= 0 && read(fd, buf, sizeof buf - 1) == 11 && strcmp(buf, "old content") == 0, "a cut-off upload leaves the old content: '%s'", buf);
  if (fd >= 0) close(fd);
  DIR *d = opendir(dir);
  int entries = 0;
  for (struct dirent *e; d && (e = readdir(d));) if (e->d_name[0] != '.' || strncmp(e->d_name, ".kiln-upload", 12) == 0) entries++;
  if (d) closedir(d);
  CHECK(entries == 1, "and no new file beside it (%d entries)", entries);

  struct writer w;
  writer_init(&w, 1 << 17);
  wr_u32(&w, 0); /* no mode: the old file's is kept */
  wr_u32(&w, 0);
  wr_str(&w, file, strlen(file));
  id = next_stream++;
  send_w(T_FILE_WRITE, id, &w);
  send_raw(T_DATA, id, "replaced", 8);
  send_raw(T_END, id, NULL, 0);
  CHECK(expect_ok_or_error(id) == 0 && expect_ok_or_error(id) == 0, "a whole upload ends OK");
  struct stat st;
  CHECK(stat(file, &st) == 0 && st.st_size == 8 && (st.st_mode & 0777) == 0640, "it replaced the file and kept its mode (%o)", st.st_mode & 0777);
}

static uint32_t expect_error_code(struct msg *m) {
  struct reader r;
  reader_init(&r, m->p, m->h.length);
  return m->h.type == T_ERROR ? rd_u32(&r) : 0;
}

/* The same agent linked with a realloc that fails above 256 bytes (test/failalloc.c): a reply
 * that needs more is an ERROR ENOMEM, never a frame with half an entry in it, and the agent goes on. */
static void test_allocation_failures(const char *failalloc) {
  char dir[600], longname[900];
  snprintf(dir, sizeof dir, "%s/many", tmp);
  mkdir(dir, 0755);
  for (int i = 0; i < 20; i++) {
    char p[700];
    snprintf(p, sizeof p, "%s/entry-with-a-longish-name-%02d", dir, i);
    close(open(p, O_CREAT | O_WRONLY, 0644));
  }
  snprintf(longname, sizeof longname, "%s/", dir);
  memset(longname + strlen(longname), 'n', 240);
  longname[strlen(dir) + 1 + 240] = 0;
  close(open(longname, O_CREAT | O_WRONLY, 0644));

  setenv("KILN_TEST_REALLOC_LIMIT", "256", 1);
  setenv("KILN_TEST_MALLOC_FAIL_SIZE", "777", 1);
  start_agent(failalloc);
  unsetenv("KILN_TEST_REALLOC_LIMIT");
  unsetenv("KILN_TEST_MALLOC_FAIL_SIZE");
  hello();
  /* A request whose string cannot be allocated (776 bytes and its NUL: the size that fails) is
   * ERROR ENOMEM on its stream, not a protocol error: the session goes on. */
  char big[777];
  memset(big, 'p', 776);
  big[0] = '/';
  big[776] = 0;
  uint32_t id0 = path_op(T_STAT, big);
  struct msg m0 = recv_msg();
  CHECK(m0.h.stream == id0 && expect_error_code(&m0) == ENOMEM, "a STAT whose path cannot be allocated is ENOMEM: 0x%02x", m0.h.type);
  free(m0.p);
  id0 = exec_full(0, 0xFFFFFFFFu, big, 0, 0, 0, (const char *const[]){"true", NULL}, (const char *const[]){NULL});
  m0 = recv_msg();
  CHECK(m0.h.stream == id0 && expect_error_code(&m0) == ENOMEM, "an EXEC whose cwd cannot be allocated is ENOMEM: 0x%02x", m0.h.type);
  free(m0.p);
  uint32_t id = path_op(T_STAT, longname);
  struct msg m = recv_msg();
  struct reader r;
  reader_init(&r, m.p, m.h.length);
  CHECK(m.h.stream == id && m.h.type == T_ERROR && rd_u32(&r) == ENOMEM, "a STAT whose entry cannot be allocated is ENOMEM, got 0x%02x", m.h.type);
  free(m.p);

  id = path_op(T_LIST, dir);
  int entries_ok = 1;
  for (;;) {
    m = recv_msg();
    if (m.h.type != T_LIST_ENTRIES) break;
    /* Whatever came before the failure must be whole entries, exactly as many as it says. */
    reader_init(&r, m.p, m.h.length);
    uint32_t n = rd_u32(&r);
    for (uint32_t i = 0; i < n; i++) {
      rd_u8(&r), rd_u32(&r), rd_u64(&r), rd_u64(&r);
      free(rd_str(&r));
    }
    entries_ok &= reader_done(&r);
    free(m.p);
  }
  reader_init(&r, m.p, m.h.length);
  CHECK(m.h.stream == id && m.h.type == T_ERROR && rd_u32(&r) == ENOMEM && entries_ok,
        "a LIST that cannot grow its frame ends in ENOMEM, with no half entries: 0x%02x", m.h.type);
  free(m.p);

  id = next_stream++;
  send_raw(T_SYNC, id, NULL, 0);
  CHECK(expect_ok_or_error(id) == 0, "the agent carries on after allocation failures");
  close(host);
  int status;
  waitpid(agent, &status, 0);
}

/* A restarted host greets again on a live session; frames right behind that HELLO, in the same
 * read, must survive the session reset. */
static void test_second_hello_with_frames_behind_it(void) {
  uint8_t buf[512];
  size_t n = 0;
  struct writer w;
  writer_init(&w, 256);
  wr_u32(&w, PROTO_VERSION);
  wr_u64(&w, 1);
  wr_str(&w, "again", 5);
  header_encode(buf, T_HELLO, 0, (uint32_t)w.len);
  memcpy(buf + FRAME_HEADER, w.buf, w.len);
  n = FRAME_HEADER + w.len;
  writer_free(&w);
  uint32_t id = next_stream++;
  header_encode(buf + n, T_SYNC, id, 0);
  n += FRAME_HEADER;
  if (write(host, buf, n) != (ssize_t)n) exit(2);
  struct msg m = recv_msg();
  CHECK(m.h.type == T_HELLO_OK, "the second HELLO is answered");
  free(m.p);
  CHECK(expect_ok_or_error(id) == 0, "the frame behind it is served");
}

static void test_protocol_error_ends_session(void) {
  uint32_t id = exec_v(0, 0, (const char *const[]){"sleep", "100", NULL});
  struct msg m = recv_msg();
  CHECK(m.h.type == T_STARTED, "sleep starts");
  struct reader r;
  reader_init(&r, m.p, m.h.length);
  pid_t pid = (pid_t)rd_u32(&r);
  free(m.p);
  (void)id;
  uint8_t bad[FRAME_HEADER];
  header_encode(bad, T_STAT, next_stream++, 0x7FFFFFFFu);
  if (write(host, bad, sizeof bad) != sizeof bad) exit(2);
  for (int i = 0; i < 100 && kill(pid, 0) == 0; i++) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
    waitpid(-1, NULL, WNOHANG);
  }
  char state[64] = "";
  char procpath[64];
  snprintf(procpath, sizeof procpath, "/proc/%d/stat", pid);
  FILE *f = fopen(procpath, "r");
  if (f) {
    if (!fgets(state, sizeof state, f)) state[0] = 0;
    fclose(f);
  }
  CHECK(!f || strstr(state, ") Z"), "a protocol error kills the session's commands (pid %d: %s)", pid, state);
  path_op(T_STAT, "/");
  m = recv_msg_t(300, 0);
  CHECK(m.h.type == 0, "after a protocol error the agent ignores the connection");
  free(m.p);
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The test build whose helpers wait KILN_TEST_HELPER_DELAY_MS before working: SYNC, GROW_ROOT and
 * an upload's fsync must not hold up anything else, and answer as before once done. */
static void test_helpers_leave_the_loop_free(const char *hooks) {
  setenv("KILN_TEST_HELPER_DELAY_MS", "1000", 1);
  start_agent(hooks);
  unsetenv("KILN_TEST_HELPER_DELAY_MS");
  hello();
  int64_t t0 = mono_ms();
  uint32_t sync_id = next_stream++;
  send_raw(T_SYNC, sync_id, NULL, 0);
  /* A size no disk reaches: the helper never resizes anything, it answers ERROR. */
  struct writer w;
  writer_init(&w, 16);
  wr_u64(&w, 1ull << 62);
  uint32_t grow_id = next_stream++;
  send_w(T_GROW_ROOT, grow_id, &w);
  char tree[600], leaf[700];
  snprintf(tree, sizeof tree, "%s/slow-remove", tmp);
  snprintf(leaf, sizeof leaf, "%s/a/b", tree);
  char mk[1500];
  snprintf(mk, sizeof mk, "mkdir -p %s && touch %s/f", leaf, leaf);
  CHECK(system(mk) == 0, "fixture tree");
  writer_init(&w, 1 << 17);
  wr_u32(&w, 1);
  wr_str(&w, tree, strlen(tree));
  uint32_t rm_id = next_stream++;
  send_w(T_REMOVE, rm_id, &w);
  uint32_t exec_id = exec_v(0, 0, (const char *const[]){"echo", "meanwhile", NULL});
  int early = 0, exited = 0;
  while (!exited) {
    struct msg m = recv_msg();
    if (m.h.type == 0) break;
    if (m.h.stream == sync_id || m.h.stream == grow_id || m.h.stream == rm_id) early = 1;
    if (m.h.stream == exec_id && m.h.type == T_EXIT) exited = 1;
    free(m.p);
  }
  int64_t took = mono_ms() - t0;
  CHECK(exited && !early && took < 900, "an exec runs to EXIT while SYNC, GROW_ROOT and a recursive REMOVE are in their helpers (%lld ms)",
        (long long)took);
  int synced = 0, grow_failed = 0, removed = 0;
  for (int i = 0; i < 3; i++) {
    struct msg m = recv_msg();
    if (m.h.stream == sync_id && m.h.type == T_OK) synced = 1;
    if (m.h.stream == grow_id && m.h.type == T_ERROR) grow_failed = 1;
    if (m.h.stream == rm_id && m.h.type == T_OK) removed = 1;
    free(m.p);
  }
  CHECK(synced && grow_failed && removed && access(tree, F_OK) != 0 && mono_ms() - t0 >= 1000,
        "then SYNC answers OK, an impossible GROW_ROOT ERROR, and REMOVE OK with the tree gone");

  /* An upload's END: the fsync runs in a helper, the final OK still counts the bytes. */
  char file[600];
  snprintf(file, sizeof file, "%s/slow-fsync.txt", tmp);
  uint32_t up = write_open(file);
  send_raw(T_DATA, up, "12345", 5);
  send_raw(T_END, up, NULL, 0);
  exec_id = exec_v(0, 0, (const char *const[]){"true", NULL});
  int opened = 0, order_ok = 1;
  exited = 0;
  for (;;) {
    struct msg m = recv_msg();
    if (m.h.type == 0) break;
    int done = 0;
    if (m.h.stream == up && m.h.type == T_OK) {
      if (!opened) {
        opened = 1;
      } else {
        struct reader r;
        reader_init(&r, m.p, m.h.length);
        CHECK(rd_u64(&r) == 5, "the upload's final OK counts its bytes");
        order_ok &= exited;
        done = 1;
      }
    }
    if (m.h.stream == exec_id && m.h.type == T_EXIT) exited = 1;
    free(m.p);
    if (done) break;
  }
  CHECK(opened && exited && order_ok, "an exec finishes while an upload's fsync is in its helper");

  /* CANCEL while the helper works: nothing more on that stream; the agent goes on. */
  uint32_t cancelled = next_stream++;
  send_raw(T_SYNC, cancelled, NULL, 0);
  send_raw(T_CANCEL, cancelled, NULL, 0);
  uint32_t after = next_stream++;
  send_raw(T_SYNC, after, NULL, 0);
  struct msg m = recv_msg();
  CHECK(m.h.stream == after && m.h.type == T_OK, "a cancelled SYNC says nothing; the next one answers");
  free(m.p);
  m = recv_msg_t(300, 0);
  CHECK(m.h.type == 0, "still nothing on the cancelled stream: 0x%02x on %u", m.h.type, m.h.stream);
  free(m.p);

  /* At most 16 helpers at once: one more is refused at once with EAGAIN, the others answer. */
  uint32_t first = next_stream;
  for (int i = 0; i < 17; i++) send_raw(T_SYNC, next_stream++, NULL, 0);
  m = recv_msg();
  CHECK(m.h.stream == first + 16 && expect_error_code(&m) == EAGAIN, "the 17th concurrent SYNC is ERROR EAGAIN: 0x%02x on %u", m.h.type,
        m.h.stream);
  free(m.p);
  int oks = 0;
  for (int i = 0; i < 16; i++) {
    m = recv_msg();
    oks += m.h.type == T_OK;
    free(m.p);
  }
  CHECK(oks == 16, "the 16 others answer OK: %d", oks);

  /* A command slow to reach execve does not hold up the loop: a STAT is answered first, then
   * STARTED and EXIT (or the ERROR of a failed exec) arrive as always. */
  const char *const slow_env[] = {"KILN_TEST_SLOW_START=700", NULL};
  const char *const *cmds[] = {(const char *const[]){"true", NULL}, (const char *const[]){"/no/such/binary", NULL}};
  for (int c = 0; c < 2; c++) {
    uint32_t slow = exec_full(0, 0xFFFFFFFFu, tmp, 0, 0, 0, cmds[c], slow_env);
    uint32_t st = path_op(T_STAT, "/");
    m = recv_msg();
    CHECK(m.h.stream == st && m.h.type == T_STAT_RESULT, "STAT is answered while an exec is starting: 0x%02x on %u", m.h.type, m.h.stream);
    free(m.p);
    struct result res = collect(slow);
    if (c == 0)
      CHECK(res.started > 0 && res.kind == 0 && res.value == 0, "then the slow command starts and exits: started=%d", res.started);
    else
      CHECK(res.error == ENOENT && !res.started, "then a slow command that cannot exec is ERROR ENOENT: %d", res.error);
  }
  /* CANCEL while starting: the child is killed before it can exec; nothing more on the stream. */
  char marker[600];
  snprintf(marker, sizeof marker, "%s/should-not-exist", tmp);
  uint32_t doomed = exec_full(0, 0xFFFFFFFFu, tmp, 0, 0, 0, (const char *const[]){"touch", marker, NULL}, slow_env);
  send_raw(T_CANCEL, doomed, NULL, 0);
  m = recv_msg_t(1200, 0);
  CHECK(m.h.type == 0 && access(marker, F_OK) != 0, "a command cancelled while starting never runs: 0x%02x", m.h.type);
  free(m.p);
  close(host);
  int status;
  waitpid(agent, &status, 0);
}
/* HOLD: once it is answered nothing more comes (the command's output and its EXIT wait in the
 * guest), and the host that resumes the session gets all of it. */
static void test_hold_keeps_output_for_the_next_host(void) {
  uint32_t id = exec_v(0, 0, (const char *const[]){"sh", "-c", "sleep 0.2; echo after-hold", NULL});
  struct msg m = recv_msg();
  CHECK(m.h.type == T_STARTED && m.h.stream == id, "the command starts");
  free(m.p);
  uint32_t hold = next_stream++;
  send_raw(T_HOLD, hold, NULL, 0);
  m = recv_msg();
  CHECK(m.h.type == T_OK && m.h.stream == hold, "HOLD is answered OK, got 0x%02x", m.h.type);
  free(m.p);
  struct pollfd p = {.fd = host, .events = POLLIN};
  CHECK(poll(&p, 1, 700) == 0, "nothing is sent while output is held, though the command wrote and exited");
  struct reader r = hello_with(1, "after-hold", &m);
  uint32_t n = rd_u32(&r);
  CHECK(n == 1 && rd_u32(&r) == id, "the resumed session lists the held command (n=%u)", n);
  free(m.p);
  struct result res = collect(id);
  CHECK(res.kind == 0 && res.value == 0 && strcmp(res.out, "after-hold\n") == 0, "its output and EXIT arrive once a host resumes: '%s'", res.out);
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: agent-test PATH-TO-AGENT [PATH-TO-TEST-HOOKS-AGENT]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (!mkdtemp(tmp)) return 2;
  start_agent(argv[1]);
  hello();
  test_exec_basics();
  test_pty();
  test_login();
  test_stdin_signal_timeout();
  test_flow_control();
  test_files();
  test_upload_refuses_what_is_not_a_regular_file();
  test_upload_replaces_whole_or_not_at_all();
  test_resume_keeps_running_commands();
  test_hold_keeps_output_for_the_next_host();
  test_second_hello_with_frames_behind_it();
  test_protocol_error_ends_session();
  close(host);
  int status;
  waitpid(agent, &status, 0);
  CHECK(WIFEXITED(status), "agent exits when the host closes the connection");
  if (argc == 3) {
    test_allocation_failures(argv[2]);
    test_helpers_leave_the_loop_free(argv[2]);
  }
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  printf("agent-test: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
