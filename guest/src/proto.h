/* Kiln agent protocol v1: frame layout, limits and payload codecs (docs/agent-protocol.md). */
#ifndef KILN_PROTO_H
#define KILN_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1
#define FRAME_HEADER 12
#define MAX_PAYLOAD (1u << 20)
#define DATA_CHUNK (64u * 1024)
#define INITIAL_WINDOW (256u * 1024)
#define MAX_STR 65536u
#define MAX_STRLIST 4096u

enum frame_type {
  T_HELLO = 0x01, T_EXEC = 0x02, T_STDIN = 0x03, T_STDIN_CLOSE = 0x04, T_SIGNAL = 0x05,
  T_FILE_READ = 0x06, T_FILE_WRITE = 0x07, T_STAT = 0x08, T_LIST = 0x09, T_MKDIR = 0x0A,
  T_REMOVE = 0x0B, T_RENAME = 0x0C, T_SYNC = 0x0D, T_WINDOW = 0x0E, T_DATA = 0x0F, T_END = 0x10,
  T_CANCEL = 0x11, T_FREEZE = 0x12, T_RESIZE = 0x13, T_GROW_ROOT = 0x14, T_HOLD = 0x15,
  T_HELLO_OK = 0x41, T_STARTED = 0x42, T_STDOUT = 0x43, T_STDERR = 0x44, T_EXIT = 0x45,
  T_OK = 0x46, T_ERROR = 0x47, T_STAT_RESULT = 0x48, T_LIST_ENTRIES = 0x49,
};

struct frame_header {
  uint8_t version;
  uint8_t type;
  uint16_t flags;
  uint32_t stream;
  uint32_t length;
};

void header_encode(uint8_t out[FRAME_HEADER], uint8_t type, uint32_t stream, uint32_t length);
void header_decode(const uint8_t in[FRAME_HEADER], struct frame_header *h);

/* A bounds-checked cursor over one payload. Any read past the end sets `bad` and yields zeros, so a
 * parser checks once at the end (reader_done) instead of after every field. */
struct reader {
  const uint8_t *p;
  size_t left;
  int bad;
  int oom; /* bad because a string could not be allocated, not because the payload is malformed */
};

void reader_init(struct reader *r, const uint8_t *p, size_t n);
uint8_t rd_u8(struct reader *r);
uint16_t rd_u16(struct reader *r);
uint32_t rd_u32(struct reader *r);
uint64_t rd_u64(struct reader *r);
/* A `str` copied into a fresh NUL-terminated string; NULL (and `bad`) if too long, truncated, or
 * holding a NUL byte (paths and argv cannot carry one). The caller frees it. */
char *rd_str(struct reader *r);
/* A `str` in place: points into the payload, *len gets its length; NULL (and `bad`) if malformed. */
const uint8_t *rd_blob(struct reader *r, uint32_t *len);
/* A `strlist` as a NULL-terminated array of strings; free with strv_free. */
char **rd_strlist(struct reader *r);
/* True when every field was present and nothing is left over. */
int reader_done(const struct reader *r);
void strv_free(char **v);

/* Host requests, decoded. Every frame the host sends is read by one of these or by the fixed-size
 * reads in agent.c's dispatch; fuzz/fuzz_frames.c runs them all over arbitrary bytes. Each reads a
 * whole payload and returns 0, or -1 when it is malformed (or a string could not be allocated);
 * either way the caller frees the request, whose strings are its own. */
#define EXEC_FLAG_PTY 2u
#define MAX_NONCE 32
#define MAX_HOSTNAME 64 /* HOST_NAME_MAX in <limits.h> */

struct hello_req {
  uint32_t version, flags; /* flags: 0 from hosts before revision 2 */
  uint64_t time_ns;
  const uint8_t *entropy, *nonce, *hostname; /* into the payload; NULL when absent */
  uint32_t entropy_len, nonce_len, hostname_len;
};
/* HELLO: the trailing fields are optional (older hosts); nonce <= MAX_NONCE, hostname <= MAX_HOSTNAME. */
int decode_hello(struct reader *r, struct hello_req *h);

struct exec_req {
  uint32_t flags, uid, gid, timeout_ms;
  char *cwd;
  char **argv, **env; /* NULL-terminated */
  uint16_t rows, cols; /* with EXEC_FLAG_PTY only */
};
int decode_exec(struct reader *r, struct exec_req *x);
void exec_req_free(struct exec_req *x);

/* FILE_READ, STAT, LIST: path. FILE_WRITE, MKDIR: mode, flags, path. REMOVE: flags, path.
 * RENAME: path (from), to. */
struct path_req {
  uint32_t mode, flags;
  char *path, *to;
};
int decode_path_req(uint8_t type, struct reader *r, struct path_req *q);
void path_req_free(struct path_req *q);

/* Framing of the host's byte stream: what starts at buf[0..len). */
enum frame_status { FRAME_OK, FRAME_MORE, FRAME_BAD_VERSION, FRAME_TOO_BIG };
/* FRAME_OK: *h holds a header whose whole payload (h->length bytes after it) is in buf. */
enum frame_status frame_next(const uint8_t *buf, size_t len, struct frame_header *h);

/* A growable payload builder with a hard cap; exceeding it sets `bad`. */
struct writer {
  uint8_t *buf;
  size_t len, cap, max;
  int bad;
};

void writer_init(struct writer *w, size_t max);
void writer_reset(struct writer *w);
void writer_free(struct writer *w);
void wr_u8(struct writer *w, uint8_t v);
void wr_u32(struct writer *w, uint32_t v);
void wr_u64(struct writer *w, uint64_t v);
void wr_bytes(struct writer *w, const void *p, size_t n);
void wr_str(struct writer *w, const char *s, size_t n);

#endif
