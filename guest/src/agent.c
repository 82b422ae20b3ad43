#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_STREAMS 1024
/* Without a host the port reports POLLHUP at once, so the agent stops polling it and waits for
 * the SIGIO the driver sends when a host connects; this is the longest it trusts that signal. */
#define NO_HOST_RECHECK_MS 1000
/* A write blocked this long on a port with no host gives up: the frame is dropped. */
#define HOST_GONE_MS 3000

static struct {
  int fd;
  int flags;
  int connected;  /* the host is there (we could read or write) */
  int greeted;    /* HELLO done on this connection */
  int poisoned;   /* protocol error: discard input until the host reconnects */
  int lost;       /* a write failed: the host went away */
  int held;       /* HOLD: no output, exit or file data leaves until the next HELLO */
  uint8_t in[FRAME_HEADER + MAX_PAYLOAD];
  size_t in_len;
  struct stream *streams;
  int nstreams;
  uint8_t scratch[FRAME_HEADER + DATA_CHUNK];
} S;

void agent_log(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  dprintf(2, "kiln-agent: %s\n", line);
}

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint8_t *data_scratch(void) {
  return S.scratch;
}

static void end_session(void);
static int live_commands(void);

void protocol_error(const char *fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  agent_log("protocol error from host: %s; ending the session", why);
  end_session();
  S.poisoned = 1;
}

void bad_request(uint32_t id, const struct reader *r, const char *what) {
  if (r->oom)
    send_error(id, ENOMEM, "%s: no memory for the request's strings", what);
  else
    protocol_error("malformed %s", what);
}

/* Writes all of iov, waiting for the channel as needed. */
static int write_all(struct iovec *iov, int n) {
  if (S.lost || S.poisoned) return -1;
  int64_t hup_since = 0;
  while (n > 0) {
    ssize_t w = writev(S.fd, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        /* A virtio port blocks writes while it believes no host is there, which after a restore
         * can be a stale belief for a moment; only a host gone for a while is gone. */
        struct pollfd p = {.fd = S.fd, .events = POLLOUT};
        if (poll(&p, 1, 100) > 0 && (p.revents & POLLHUP) && !(p.revents & POLLOUT)) {
          if (!hup_since) hup_since = now_ms();
          if (now_ms() - hup_since > HOST_GONE_MS) goto lost;
        } else {
          hup_since = 0;
        }
        continue;
      }
      goto lost;
    }
    while (n > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (uint8_t *)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
  return 0;
lost:
  S.lost = 1;
  return -1;
}

int send_frame(uint8_t type, uint32_t stream, const void *payload, size_t len) {
  uint8_t h[FRAME_HEADER];
  header_encode(h, type, stream, (uint32_t)len);
  struct iovec iov[2] = {{h, FRAME_HEADER}, {(void *)payload, len}};
  return write_all(iov, len ? 2 : 1);
}

int send_data_frame(uint8_t type, uint32_t stream, uint8_t *buf, size_t len) {
  header_encode(buf, type, stream, (uint32_t)len);
  struct iovec iov = {buf, FRAME_HEADER + len};
  return write_all(&iov, 1);
}

void send_error(uint32_t stream, int err, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
  uint8_t p[4 + 4 + sizeof msg];
  uint32_t e = (uint32_t)err, len = (uint32_t)n;
  for (int i = 0; i < 4; i++) {
    p[i] = (uint8_t)(e >> (24 - 8 * i));
    p[4 + i] = (uint8_t)(len >> (24 - 8 * i));
  }
  memcpy(p + 8, msg, (size_t)n);
  send_frame(T_ERROR, stream, p, 8 + (size_t)n);
}

void send_ok(uint32_t stream, uint64_t value) {
  uint8_t p[8];
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(value >> (56 - 8 * i));
  send_frame(T_OK, stream, p, 8);
}

void send_window(uint32_t stream, uint32_t increment) {
  uint8_t p[4] = {(uint8_t)(increment >> 24), (uint8_t)(increment >> 16), (uint8_t)(increment >> 8), (uint8_t)increment};
  send_frame(T_WINDOW, stream, p, 4);
}

static struct stream *find_stream(uint32_t id) {
  for (struct stream *s = S.streams; s; s = s->next)
    if (s->id == id && !s->dead) return s;
  return NULL;
}

struct stream *stream_new(uint32_t id, enum stream_kind kind) {
  struct stream *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->id = id;
  s->kind = kind;
  s->credit = INITIAL_WINDOW;
  s->recv_window = INITIAL_WINDOW;
  s->fd = -1;
  s->x.in_fd = s->x.out_fd = s->x.err_fd = s->x.pty_fd = s->x.report_fd = -1;
  s->next = S.streams;
  S.streams = s;
  S.nstreams++;
  return s;
}

static void stream_abandon(struct stream *s) {
  if (s->helper) helper_detach(s);
  if (s->kind == S_EXEC)
    exec_cancel(s);
  else
    file_close(s);
  s->dead = 1;
}

static void sweep_dead(void) {
  for (struct stream **pp = &S.streams; *pp;) {
    struct stream *s = *pp;
    if (s->dead) {
      *pp = s->next;
      if (s->helper) helper_detach(s); /* never left attached, but a freed stream must not be */
      free(s->x.in_buf);
      free(s->upload_tmp);
      free(s->upload_target);
      free(s);
      S.nstreams--;
    } else {
      pp = &s->next;
    }
  }
}

/* Every stream of a connection dies with it: running commands are killed, files closed. */
static void end_session(void) {
  for (struct stream *s = S.streams; s; s = s->next)
    if (!s->dead) stream_abandon(s);
  /* The input buffer is not touched: a HELLO that ends a session is itself being parsed from it. */
  S.greeted = 0;
}

/* The host went away (a daemon restart or crash): commands keep running, but with no credit their
 * output waits in their pipes (they block once those fill) until a host resumes the session; a
 * new session ends them. Open files are closed. */
static void suspend_session(void) {
  for (struct stream *s = S.streams; s; s = s->next) {
    if (s->dead) continue;
    if (s->kind == S_EXEC)
      s->credit = 0;
    else
      stream_abandon(s);
  }
}

/* A HELLO with RESUME comes from a host taking this session back (it restarted, or this VM was
 * paused and restored): running commands are kept, with fresh windows, and listed in HELLO_OK so
 * the host can follow them again. File transfers cannot resume and are abandoned. */
#define HELLO_RESUME 1u

static void resume_session(void) {
  for (struct stream *s = S.streams; s; s = s->next) {
    if (s->dead) continue;
    /* A command still starting (its STARTED not sent) is not kept: the host that asked for it is
     * gone without its pid, and a STARTED sent after HELLO_OK would break the resumed stream the
     * new host opens for it from the list. */
    /* One that exited while no host took its output (held, or the host away) is kept too: its
     * output and EXIT are still to be delivered. */
    if (s->kind == S_EXEC && s->x.report_fd < 0) {
      s->credit = INITIAL_WINDOW;
      s->recv_window = INITIAL_WINDOW;
    } else {
      stream_abandon(s);
    }
  }
}

/* HOLD: a host about to hand this session to another (a live migration) must know that nothing is
 * in flight once it has the answer: commands keep running, but their output, their EXIT and file
 * data stay here (output in the pipes) until the next HELLO, whose host takes them from there. The
 * OK goes out after every frame sent before it, on the one ordered channel. */
void op_hold(uint32_t id, struct reader *r) {
  if (!reader_done(r)) return protocol_error("malformed HOLD");
  S.held = 1;
  agent_log("output held for a hand-over (%d running commands)", live_commands());
  send_ok(id, 0);
}

int output_held(void) {
  return S.held;
}

static int live_commands(void) {
  int n = 0;
  for (struct stream *s = S.streams; s; s = s->next)
    if (!s->dead && s->kind == S_EXEC && !s->x.exited) n++;
  return n;
}

static void on_hello(struct reader *r) {
  struct hello_req hr;
  if (decode_hello(r, &hr) < 0) {
    protocol_error("malformed HELLO");
    return;
  }
  uint32_t version = hr.version, flags = hr.flags, elen = hr.entropy_len, nlen = hr.nonce_len, hlen = hr.hostname_len;
  uint64_t time_ns = hr.time_ns;
  S.held = 0; /* whichever host greets takes the session's output from here */
  const uint8_t *entropy = hr.entropy, *nonce = hr.nonce, *hostname = hr.hostname;
  /* Every HELLO after the first on this agent comes from a host taking over a session: a resumed
   * pause or a restarted daemon (RESUME), or a VM restored from a saved state whose session was
   * live when it was saved: a clone of a template snapshot, a warm-pool VM being claimed, a fork,
   * a restore to a checkpoint. Only the commands of that earlier session say anything worth
   * logging; a host that restarted resumes instead. */
  if (flags & HELLO_RESUME) {
    agent_log("host connected: resuming the session (%d running commands kept)", S.greeted ? live_commands() : 0);
    if (S.greeted) resume_session();
  } else {
    int old = S.greeted ? live_commands() : 0;
    if (old)
      agent_log("host connected: new session; ending the %d commands of the previous one", old);
    else
      agent_log("host connected: new session");
    if (S.greeted) end_session();
  }
  thaw_if_frozen();
  if (S.flags & SERVE_IN_VM) {
    /* The sandbox's own name, also in a VM restored from a state saved under another one. */
    if (hlen > 0 && sethostname((const char *)hostname, hlen) < 0) agent_log("cannot set the hostname: %s", strerror(errno));
    struct timespec ts = {.tv_sec = (time_t)(time_ns / 1000000000u), .tv_nsec = (long)(time_ns % 1000000000u)};
    if (clock_settime(CLOCK_REALTIME, &ts) < 0) agent_log("cannot set the clock: %s", strerror(errno));
    int rnd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (rnd >= 0 && elen > 0) {
      struct rand_pool_info *info = malloc(sizeof *info + elen + 4);
      if (info) {
        info->entropy_count = (int)elen * 8;
        info->buf_size = (int)elen;
        memcpy(info->buf, entropy, elen);
        if (ioctl(rnd, RNDADDENTROPY, info) < 0) agent_log("cannot add entropy: %s", strerror(errno));
        /* Clones restored from one snapshot share the kernel's CRNG state: adding entropy alone
         * would only change their output at the next scheduled reseed. Reseed now. */
        if (ioctl(rnd, RNDRESEEDCRNG) < 0) agent_log("cannot reseed the CRNG: %s", strerror(errno));
        free(info);
      }
    }
    if (rnd >= 0) close(rnd);
  }
  if (version != PROTO_VERSION) agent_log("host speaks protocol %u, we speak %d", version, PROTO_VERSION);
  /* HELLO_OK: the host's nonce first, so a host reading a channel that still holds bytes of an
   * earlier session finds the start of this one; then version, agent version, running commands. */
  struct writer w;
  writer_init(&w, 64 * 1024);
  wr_str(&w, nonce ? (const char *)nonce : "", nlen);
  wr_u32(&w, PROTO_VERSION);
  wr_str(&w, AGENT_VERSION, sizeof AGENT_VERSION - 1);
  uint32_t n = 0;
  for (struct stream *s = S.streams; s; s = s->next)
    if (!s->dead && s->kind == S_EXEC) n++;
  wr_u32(&w, n);
  for (struct stream *s = S.streams; s; s = s->next) {
    if (s->dead || s->kind != S_EXEC) continue;
    wr_u32(&w, s->id);
    wr_u32(&w, (uint32_t)s->x.pid);
  }
  S.greeted = 1;
  /* At most 1,024 commands of 8 bytes and a 32-byte nonce: only an allocation can have failed. */
  if (!w.bad) send_frame(T_HELLO_OK, 0, w.buf, w.len);
  else protocol_error("no memory to build HELLO_OK");
  writer_free(&w);
}

static int opens_stream(uint8_t type) {
  return type == T_EXEC || (type >= T_FILE_READ && type <= T_SYNC) || type == T_FREEZE || type == T_GROW_ROOT || type == T_HOLD;
}

/* Data-bearing frames consume the window the host holds for the stream. */
static int take_window(struct stream *s, size_t n) {
  if (n > s->recv_window) {
    protocol_error("stream %u: host sent %zu bytes with a window of %llu", s->id, n, (unsigned long long)s->recv_window);
    return -1;
  }
  s->recv_window -= n;
  return 0;
}

static void dispatch(const struct frame_header *h, const uint8_t *payload) {
  struct reader r;
  reader_init(&r, payload, h->length);
  if (h->stream == 0) {
    if (h->type != T_HELLO) protocol_error("frame type 0x%02x on stream 0", h->type);
    else on_hello(&r);
    return;
  }
  if (!S.greeted) {
    protocol_error("frame before HELLO");
    return;
  }
  struct stream *s = find_stream(h->stream);
  if (opens_stream(h->type)) {
    if (s) {
      protocol_error("stream %u opened twice", h->stream);
      return;
    }
    if (S.nstreams >= MAX_STREAMS) {
      send_error(h->stream, EMFILE, "too many open streams (%d)", MAX_STREAMS);
      return;
    }
    switch (h->type) {
      case T_EXEC: exec_start(h->stream, &r); break;
      case T_FILE_READ: file_read_start(h->stream, &r); break;
      case T_FILE_WRITE: file_write_start(h->stream, &r); break;
      case T_STAT: op_stat(h->stream, &r); break;
      case T_LIST: op_list(h->stream, &r); break;
      case T_MKDIR: op_mkdir(h->stream, &r); break;
      case T_REMOVE: op_remove(h->stream, &r); break;
      case T_RENAME: op_rename(h->stream, &r); break;
      case T_SYNC: op_sync(h->stream, &r); break;
      case T_FREEZE: op_freeze(h->stream, &r); break;
      case T_GROW_ROOT: op_grow_root(h->stream, &r); break;
      case T_HOLD: op_hold(h->stream, &r); break;
    }
    return;
  }
  if (!s) {
    /* A stream that already ended here while the host was still sending on it: a normal race. */
    if (h->type == T_WINDOW || h->type == T_DATA || h->type == T_END || h->type == T_STDIN ||
        h->type == T_STDIN_CLOSE || h->type == T_SIGNAL || h->type == T_CANCEL || h->type == T_RESIZE)
      return;
    protocol_error("frame type 0x%02x for unknown stream %u", h->type, h->stream);
    return;
  }
  switch (h->type) {
    case T_WINDOW: {
      uint32_t inc = rd_u32(&r);
      if (!reader_done(&r)) return protocol_error("malformed WINDOW");
      s->credit += inc;
      if (s->credit > (1ull << 32)) return protocol_error("stream %u: window grew past 4 GiB", s->id);
      return;
    }
    case T_CANCEL:
      stream_abandon(s);
      return;
    case T_STDIN:
      if (s->kind != S_EXEC) return protocol_error("STDIN on a non-exec stream");
      if (take_window(s, h->length) == 0) exec_stdin(s, payload, h->length);
      return;
    case T_STDIN_CLOSE:
      if (s->kind != S_EXEC) return protocol_error("STDIN_CLOSE on a non-exec stream");
      exec_stdin_close(s);
      return;
    case T_SIGNAL: {
      uint32_t signo = rd_u32(&r);
      if (!reader_done(&r) || s->kind != S_EXEC) return protocol_error("malformed SIGNAL");
      exec_signal(s, signo);
      return;
    }
    case T_RESIZE: {
      uint16_t rows = rd_u16(&r), cols = rd_u16(&r);
      if (!reader_done(&r) || s->kind != S_EXEC) return protocol_error("malformed RESIZE");
      exec_resize(s, rows, cols);
      return;
    }
    case T_DATA:
      if (s->kind != S_FILE_WRITE) return protocol_error("DATA on a stream that is not a file write");
      if (s->helper) return; /* after END, while its fsync runs: as if the stream were over */
      if (take_window(s, h->length) == 0) file_write_data(s, payload, h->length);
      return;
    case T_END:
      if (s->kind != S_FILE_WRITE) return protocol_error("END on a stream that is not a file write");
      if (!s->helper) file_write_end(s);
      return;
    default:
      protocol_error("unexpected frame type 0x%02x on stream %u", h->type, h->stream);
  }
}

/* Consumes every complete frame in the input buffer. */
static void parse_input(void) {
  size_t off = 0;
  while (!S.poisoned) {
    struct frame_header h;
    enum frame_status st = frame_next(S.in + off, S.in_len - off, &h);
    if (st == FRAME_MORE) break;
    if (st == FRAME_BAD_VERSION) {
      protocol_error("frame version %u", h.version);
      break;
    }
    if (st == FRAME_TOO_BIG) {
      protocol_error("frame of %u bytes, the limit is %u", h.length, MAX_PAYLOAD);
      break;
    }
    dispatch(&h, S.in + off + FRAME_HEADER);
    off += FRAME_HEADER + h.length;
  }
  if (S.poisoned) {
    S.in_len = 0;
    return;
  }
  memmove(S.in, S.in + off, S.in_len - off);
  S.in_len -= off;
}

/* read_host() results besides 0 (go on) and -1 (the test peer closed the socket: stop). */
#define NO_HOST 1

/* Reads and handles what the host sent. With no host on a virtio port, read() says EOF at once
 * (and poll says POLLIN|POLLHUP), so NO_HOST tells the loop to stop polling the port. */
static int read_host(void) {
  for (;;) {
    ssize_t n = read(S.fd, S.in + S.in_len, sizeof S.in - S.in_len);
    if (n > 0) {
      S.connected = 1;
      if (S.poisoned) continue;
      S.in_len += (size_t)n;
      parse_input();
      if (S.in_len == sizeof S.in) return 0;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 0;
    /* EOF: the host closed its end (for a virtio port: no host is connected right now). */
    if (!(S.flags & SERVE_PORT)) return -1;
    /* The session outlives the connection: a VM restored from a snapshot replays the disconnect
     * that preceded the snapshot, possibly after the new host's HELLO has already arrived, and
     * a host that really went away and comes back starts over with a HELLO anyway. What is lost
     * is a frame cut in half by the disconnect. */
    if (S.connected) agent_log("host disconnected");
    S.in_len = 0;
    S.connected = 0;
    S.poisoned = 0;
    return NO_HOST;
  }
}

/* Drains the signalfd, reaps children; returns whether a SIGIO (host (dis)connected) came. */
static int reap(int sfd) {
  struct signalfd_siginfo si;
  int io = 0;
  while (read(sfd, &si, sizeof si) == sizeof si) io |= si.ssi_signo == SIGIO;
  int status;
  struct rusage ru;
  pid_t pid;
  while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
    for (struct stream *s = S.streams; s; s = s->next) {
      if (s->kind == S_EXEC && !s->dead && s->x.pid == pid) {
        exec_reaped(s, status, &ru);
        break;
      }
    }
    /* Anything else was an orphan re-parented to us; reaping it is all there is to do. */
  }
  return io;
}

#define MAX_POLL (2 + MAX_HELPERS + 3 * MAX_STREAMS)

int serve(int fd, int flags) {
  helper_forget_all(); /* streams of an earlier serve() that failed are gone with S */
  memset(&S, 0, sizeof S);
  S.fd = fd;
  S.flags = flags;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);
  /* Outside PID 1 (tests) orphans of our commands must still come back to us to be reaped. */
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (flags & SERVE_PORT) {
    /* The virtio console driver signals port open/close to an O_ASYNC owner. */
    sigaddset(&chld, SIGIO);
    fcntl(fd, F_SETOWN, getpid());
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
  }
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    agent_log("signalfd: %s", strerror(errno));
    return -1;
  }
  static struct pollfd pfd[MAX_POLL];
  static struct stream *owner[MAX_POLL];
  int host_absent = 0; /* the port said POLLHUP: leave it out of poll until SIGIO or the recheck */
  for (;;) {
    int n = 0, timeout = host_absent ? NO_HOST_RECHECK_MS : -1;
    int64_t now = now_ms();
    pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = host_absent ? -1 : fd, .events = POLLIN};
    int helpers = helper_poll_fds(pfd + n);
    n += helpers;
    for (struct stream *s = S.streams; s; s = s->next) {
      if (s->dead) continue;
      if (s->kind == S_EXEC) {
        int64_t next = exec_tick(s, now);
        if (next) {
          int64_t wait = next > now ? next - now : 0;
          if (timeout < 0 || wait < timeout) timeout = (int)wait;
        }
        if (s->dead) continue;
        if (s->x.report_fd >= 0) { /* starting: nothing is pumped before STARTED */
          owner[n] = s, pfd[n++] = (struct pollfd){.fd = s->x.report_fd, .events = POLLIN};
          continue;
        }
        if (!S.held && s->credit > 0 && s->x.out_fd >= 0) owner[n] = s, pfd[n++] = (struct pollfd){.fd = s->x.out_fd, .events = POLLIN};
        if (!S.held && s->credit > 0 && s->x.err_fd >= 0) owner[n] = s, pfd[n++] = (struct pollfd){.fd = s->x.err_fd, .events = POLLIN};
        if (s->x.in_fd >= 0 && s->x.in_len > 0) owner[n] = s, pfd[n++] = (struct pollfd){.fd = s->x.in_fd, .events = POLLOUT};
      } else if (s->kind == S_FILE_READ && s->credit > 0 && !S.held) {
        owner[n] = s, pfd[n++] = (struct pollfd){.fd = s->fd, .events = POLLIN};
      }
    }
    sweep_dead();
    if (poll(pfd, (nfds_t)n, timeout) < 0) {
      if (errno == EINTR) continue;
      agent_log("poll: %s", strerror(errno));
      return -1;
    }
    if (pfd[0].revents && reap(sfd)) host_absent = 0;
    if (host_absent && pfd[0].revents == 0) host_absent = 0; /* the recheck timeout */
    if (pfd[1].revents) {
      int r = read_host();
      if (r < 0) break;
      if (r == NO_HOST) host_absent = 1;
    }
    helper_done(pfd + 2, helpers);
    for (int i = 2 + helpers; i < n; i++) {
      struct stream *s = owner[i];
      if (!pfd[i].revents || s->dead) continue;
      if (s->kind == S_EXEC)
        exec_pump(s, pfd[i].fd, pfd[i].revents);
      else
        file_read_pump(s);
    }
    if (S.lost) {
      agent_log("host went away while we were writing; commands wait for a host to resume the session");
      suspend_session();
      S.lost = 0;
      S.connected = 0;
      if (!(S.flags & SERVE_PORT)) break;
    }
    sweep_dead();
  }
  end_session();
  sweep_dead();
  close(sfd);
  return 0;
}
