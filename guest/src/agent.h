/* The agent's session: one host connection multiplexing exec and file streams. Single-threaded: a
 * poll loop owns every descriptor, so no stream state is ever shared between threads. Nothing in
 * the loop sleeps: work that can block for long (sync, freeze, growing the root, an upload's
 * fsync) runs in a helper process whose answer comes back through a pipe the loop polls. */
#ifndef KILN_AGENT_H
#define KILN_AGENT_H

#include <poll.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "proto.h"

#define AGENT_VERSION "kiln-agent/0.2.0"

/* serve() flags */
#define SERVE_PORT 1      /* a virtio port: EOF means "no host right now", wait for the next one */
#define SERVE_IN_VM 2 /* HELLO sets the wall clock, seeds the RNG and sets the hostname (only inside a VM) */

/* Serves the host on `fd` until it closes (or forever with SERVE_PORT). */
int serve(int fd, int flags);

/* S_OP: an operation whose answer a helper process computes (SYNC, FREEZE, GROW_ROOT). */
enum stream_kind { S_EXEC, S_FILE_READ, S_FILE_WRITE, S_OP };

struct exec_state {
  pid_t pid;
  int in_fd, out_fd, err_fd; /* -1 once closed */
  int pty_fd;                /* a pty exec: the master (out_fd and in_fd are dups of it); else -1 */
  int report_fd;             /* starting: the child reports here why it could not exec (EOF: it did);
                                STARTED is sent, and the pipes pumped, only once it is closed */
  char what[128];            /* the program, for the ERROR of a failed start */
  uint8_t *in_buf;           /* stdin bytes received but not yet taken by the pipe */
  size_t in_len;
  int in_close;              /* STDIN_CLOSE seen: close the pipe once in_buf drains */
  int exited, status, timed_out;
  struct rusage ru;
  int64_t deadline_ms;       /* command timeout (0: none) */
  int64_t drain_at_ms;       /* after exit: when to stop waiting for idle pipes */
};

struct stream {
  uint32_t id;
  enum stream_kind kind;
  int dead;             /* finished; freed at the end of the loop iteration */
  uint64_t credit;      /* data bytes the host still lets us send */
  uint64_t recv_window; /* data bytes the host may still send us */
  int fd;               /* file streams: the open file */
  uint64_t written;     /* FILE_WRITE: bytes written so far */
  char *upload_tmp;     /* FILE_WRITE: the new file being written beside its target (removed unless renamed) */
  char *upload_target;  /* FILE_WRITE: the path it is renamed to once written and synced */
  int helper;           /* a helper process is working for this stream (helper.c); for a FILE_WRITE,
                           END came and its fsync runs */
  struct exec_state x;
  struct stream *next;
};

/* Channel output (agent.c). They return 0, or -1 when the host is gone (the frame is dropped). */
int send_frame(uint8_t type, uint32_t stream, const void *payload, size_t len);
/* Sends the `len` bytes already placed at `buf + FRAME_HEADER`; buf has room for the header. */
int send_data_frame(uint8_t type, uint32_t stream, uint8_t *buf, size_t len);
void send_error(uint32_t stream, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void send_ok(uint32_t stream, uint64_t value);
void send_window(uint32_t stream, uint32_t increment);
/* Scratch buffer for one data frame: FRAME_HEADER + DATA_CHUNK bytes. */
uint8_t *data_scratch(void);
struct stream *stream_new(uint32_t id, enum stream_kind kind);
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The host broke the protocol: the session ends and input is ignored until the host reconnects. */
void protocol_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A request on stream `id` could not be decoded: ERROR ENOMEM when a string of it could not be
 * allocated (the session goes on), else a protocol error ("malformed WHAT"). */
void bad_request(uint32_t id, const struct reader *r, const char *what);
int64_t now_ms(void);

/* exec.c */
void exec_start(uint32_t id, struct reader *r);
void exec_stdin(struct stream *s, const uint8_t *p, size_t n);
void exec_stdin_close(struct stream *s);
void exec_signal(struct stream *s, uint32_t signo);
/* RESIZE of a pty exec: the terminal's new size (its foreground process group gets SIGWINCH). */
void exec_resize(struct stream *s, uint16_t rows, uint16_t cols);
void exec_cancel(struct stream *s);
void exec_reaped(struct stream *s, int status, const struct rusage *ru);
/* The child's report pipe is readable: STARTED, or ERROR with why it could not exec. */
void exec_report(struct stream *s);
/* Moves data between pipes and the host for whichever of the exec's fds poll reported ready. */
void exec_pump(struct stream *s, int fd, short revents);
/* Timeouts, post-exit draining and EXIT; returns the next deadline in ms (0: none). */
int64_t exec_tick(struct stream *s, int64_t now);

/* files.c */
void file_read_start(uint32_t id, struct reader *r);
void file_read_pump(struct stream *s);
void file_write_start(uint32_t id, struct reader *r);
void file_write_data(struct stream *s, const uint8_t *p, size_t n);
void file_write_end(struct stream *s);
void file_close(struct stream *s);
void op_stat(uint32_t id, struct reader *r);
void op_list(uint32_t id, struct reader *r);
void op_mkdir(uint32_t id, struct reader *r);
void op_remove(uint32_t id, struct reader *r);
void op_rename(uint32_t id, struct reader *r);
void op_sync(uint32_t id, struct reader *r);
/* FREEZE: sync and FIFREEZE the root filesystem for a snapshot; the next HELLO thaws it. */
void op_freeze(uint32_t id, struct reader *r);
/* GROW_ROOT u64 bytes: once the root device reports that size (the host just grew it), grow the
 * root ext4 filesystem to it online; answers OK with the filesystem's new size in bytes. */
void op_grow_root(uint32_t id, struct reader *r);
/* HOLD (no payload): stop sending output, EXIT and file data until the next HELLO; answered OK. */
void op_hold(uint32_t id, struct reader *r);
int output_held(void);
/* Removes `path` and everything below it without following symlinks (in a helper). */
int remove_tree_path(const char *path);
/* Thaws the root filesystem if FREEZE froze it (called on every HELLO). */
void thaw_if_frozen(void);
/* A FREEZE's helper froze / for a live stream: the next HELLO thaws it. */
void root_frozen_by_helper(void);
/* The upload's fsync (in a helper) ended: err 0, or errno and the message for ERROR. */
void file_write_finish(struct stream *s, int err, const char *msg);

/* helper.c: blocking work in a forked child, its answer read back through a polled pipe. At most
 * MAX_HELPERS at once (abandoned ones included, until they finish): one more is ERROR EAGAIN. */
#define MAX_HELPERS 16
enum helper_kind { H_SYNC, H_FREEZE, H_GROW_ROOT, H_FSYNC, H_REMOVE_TREE };
/* Starts `kind` for stream `s` (H_FSYNC: of s->fd; H_GROW_ROOT: to `arg` bytes; H_REMOVE_TREE:
 * `path`, which the child has its own copy of); -1 and errno. */
int helper_start(struct stream *s, enum helper_kind kind, uint64_t arg, const char *path);
/* `s` is abandoned: its helper finishes alone and its result is dropped (a FREEZE is undone). */
void helper_detach(struct stream *s);
/* Every running helper's stream is gone (a new serve()): their results are dropped. */
void helper_forget_all(void);
/* Fills pfd with the running helpers' pipes; returns how many. */
int helper_poll_fds(struct pollfd *pfd);
/* Handles the helpers among pfd[0..n) that poll reported ready. */
void helper_done(const struct pollfd *pfd, int n);

#endif
