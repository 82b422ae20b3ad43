/* libFuzzer target over the agent's reading of what the host sends: the framing of the byte stream
 * (frame_next, as parse_input uses it) and every payload decoder (decode_hello, decode_exec,
 * decode_path_req, and the fixed-size reads of WINDOW, SIGNAL, RESIZE and GROW_ROOT in dispatch).
 * Built with clang -fsanitize=fuzzer,address,undefined by `make fuzz` (guest/Makefile), which runs
 * it for a bounded time from the seeds in fuzz/corpus (`make seeds` writes them, from fuzz/seeds.c).
 *
 * Each payload is copied into a heap block of exactly its size, so ASan sees any read past it.
 * Beyond "no crash, no sanitizer report", a decoded request must encode back to exactly the bytes
 * it came from (every field read, nothing skipped or invented), and stay within the limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define REQUIRE(cond)                                                   \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf(stderr, "fuzz_frames: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                          \
    }                                                                   \
  } while (0)

static void put_str(struct writer *w, const char *s) {
  REQUIRE(s && strlen(s) <= MAX_STR);
  wr_str(w, s, strlen(s));
}

static void put_strlist(struct writer *w, char **v) {
  REQUIRE(v);
  uint32_t n = 0;
  while (v[n]) n++;
  REQUIRE(n <= MAX_STRLIST);
  wr_u32(w, n);
  for (uint32_t i = 0; i < n; i++) put_str(w, v[i]);
}

static void same(struct writer *w, const uint8_t *p, size_t n) {
  REQUIRE(!w->bad && w->len == n && (n == 0 || memcmp(w->buf, p, n) == 0));
  writer_free(w);
}

static void decode(uint8_t type, const uint8_t *p, size_t n) {
  struct reader r;
  reader_init(&r, p, n);
  struct writer w;
  writer_init(&w, MAX_PAYLOAD);
  switch (type) {
    case T_HELLO: {
      struct hello_req h;
      if (decode_hello(&r, &h) < 0) break;
      REQUIRE(h.nonce_len <= MAX_NONCE && h.hostname_len <= MAX_HOSTNAME);
      wr_u32(&w, h.version);
      wr_u64(&w, h.time_ns);
      wr_str(&w, (const char *)h.entropy, h.entropy_len);
      if (h.nonce) {
        wr_u32(&w, h.flags);
        wr_str(&w, (const char *)h.nonce, h.nonce_len);
      }
      if (h.hostname) wr_str(&w, (const char *)h.hostname, h.hostname_len);
      same(&w, p, n);
      break;
    }
    case T_EXEC: {
      struct exec_req x;
      if (decode_exec(&r, &x) == 0) {
        wr_u32(&w, x.flags);
        wr_u32(&w, x.uid);
        wr_u32(&w, x.gid);
        wr_u32(&w, x.timeout_ms);
        put_str(&w, x.cwd);
        put_strlist(&w, x.argv);
        put_strlist(&w, x.env);
        if (x.flags & EXEC_FLAG_PTY) {
          uint8_t size[4] = {(uint8_t)(x.rows >> 8), (uint8_t)x.rows, (uint8_t)(x.cols >> 8), (uint8_t)x.cols};
          wr_bytes(&w, size, 4);
        }
        same(&w, p, n);
      }
      exec_req_free(&x);
      break;
    }
    case T_FILE_READ: case T_STAT: case T_LIST: case T_FILE_WRITE: case T_MKDIR: case T_REMOVE: case T_RENAME: {
      struct path_req q;
      if (decode_path_req(type, &r, &q) == 0) {
        if (type == T_FILE_WRITE || type == T_MKDIR) wr_u32(&w, q.mode);
        if (type == T_FILE_WRITE || type == T_MKDIR || type == T_REMOVE) wr_u32(&w, q.flags);
        put_str(&w, q.path);
        if (type == T_RENAME) put_str(&w, q.to);
        REQUIRE(type == T_RENAME || !q.to);
        same(&w, p, n);
      }
      path_req_free(&q);
      break;
    }
    case T_WINDOW: case T_SIGNAL: {
      uint32_t v = rd_u32(&r);
      if (reader_done(&r)) wr_u32(&w, v), same(&w, p, n);
      break;
    }
    case T_RESIZE: {
      uint16_t rows = rd_u16(&r), cols = rd_u16(&r);
      uint8_t b[4] = {(uint8_t)(rows >> 8), (uint8_t)rows, (uint8_t)(cols >> 8), (uint8_t)cols};
      if (reader_done(&r)) wr_bytes(&w, b, 4), same(&w, p, n);
      break;
    }
    case T_GROW_ROOT: {
      uint64_t v = rd_u64(&r);
      if (reader_done(&r)) wr_u64(&w, v), same(&w, p, n);
      break;
    }
    default: /* STDIN, DATA: bytes; STDIN_CLOSE, END, CANCEL, SYNC, FREEZE: nothing to decode */
      break;
  }
  writer_free(&w);
}

/* Decodes `p[0..n)` as a payload of `type` from its own exact-size heap block. */
static void decode_copy(uint8_t type, const uint8_t *p, size_t n) {
  uint8_t *copy = malloc(n ? n : 1);
  REQUIRE(copy);
  if (n) memcpy(copy, p, n);
  decode(type, copy, n);
  free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The input as the host's byte stream: frame after frame, as parse_input reads them. */
  size_t off = 0;
  for (;;) {
    struct frame_header h;
    enum frame_status st = frame_next(data + off, size - off, &h);
    if (st != FRAME_OK) {
      REQUIRE(st != FRAME_MORE || size - off < FRAME_HEADER || size - off - FRAME_HEADER < h.length);
      REQUIRE(st != FRAME_TOO_BIG || h.length > MAX_PAYLOAD);
      break;
    }
    REQUIRE(h.version == PROTO_VERSION && h.length <= MAX_PAYLOAD && size - off - FRAME_HEADER >= h.length);
    decode_copy(h.type, data + off + FRAME_HEADER, h.length);
    off += FRAME_HEADER + h.length;
  }
  /* The input as one payload: its first byte picks the decoder, the rest is the payload. */
  if (size > 0 && size - 1 <= MAX_PAYLOAD) decode_copy(data[0] % 0x15, data + 1, size - 1);
  return 0;
}
