#include "proto.h"

#include <stdlib.h>
#include <string.h>

void header_encode(uint8_t out[FRAME_HEADER], uint8_t type, uint32_t stream, uint32_t length) {
  out[0] = PROTO_VERSION;
  out[1] = type;
  out[2] = 0;
  out[3] = 0;
  for (int i = 0; i < 4; i++) {
    out[4 + i] = (uint8_t)(stream >> (24 - 8 * i));
    out[8 + i] = (uint8_t)(length >> (24 - 8 * i));
  }
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void header_decode(const uint8_t in[FRAME_HEADER], struct frame_header *h) {
  h->version = in[0];
  h->type = in[1];
  h->flags = (uint16_t)(in[2] << 8 | in[3]);
  h->stream = be32(in + 4);
  h->length = be32(in + 8);
}

void reader_init(struct reader *r, const uint8_t *p, size_t n) {
  r->p = p;
  r->left = n;
  r->bad = 0;
  r->oom = 0;
}

static const uint8_t *take(struct reader *r, size_t n) {
  if (r->bad || r->left < n) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  r->left -= n;
  return p;
}

uint8_t rd_u8(struct reader *r) {
  const uint8_t *p = take(r, 1);
  return p ? p[0] : 0;
}

uint16_t rd_u16(struct reader *r) {
  const uint8_t *p = take(r, 2);
  return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t rd_u32(struct reader *r) {
  const uint8_t *p = take(r, 4);
  return p ? be32(p) : 0;
}

uint64_t rd_u64(struct reader *r) {
  const uint8_t *p = take(r, 8);
  return p ? (uint64_t)be32(p) << 32 | be32(p + 4) : 0;
}

const uint8_t *rd_blob(struct reader *r, uint32_t *len) {
  uint32_t n = rd_u32(r);
  if (n > MAX_STR) r->bad = 1;
  *len = n;
  return take(r, n);
}

char *rd_str(struct reader *r) {
  uint32_t n;
  const uint8_t *p = rd_blob(r, &n);
  if (!p) return NULL;
  if (memchr(p, 0, n)) {
    r->bad = 1;
    return NULL;
  }
  char *s = malloc((size_t)n + 1);
  if (!s) {
    r->bad = r->oom = 1;
    return NULL;
  }
  memcpy(s, p, n);
  s[n] = 0;
  return s;
}

char **rd_strlist(struct reader *r) {
  uint32_t count = rd_u32(r);
  if (count > MAX_STRLIST) r->bad = 1;
  if (r->bad) return NULL;
  char **v = calloc((size_t)count + 1, sizeof *v);
  if (!v) {
    r->bad = r->oom = 1;
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    v[i] = rd_str(r);
    if (!v[i]) {
      strv_free(v);
      return NULL;
    }
  }
  return v;
}

int reader_done(const struct reader *r) {
  return !r->bad && r->left == 0;
}

void strv_free(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

void writer_init(struct writer *w, size_t max) {
  w->buf = NULL;
  w->len = w->cap = 0;
  w->max = max;
  w->bad = 0;
}

void writer_reset(struct writer *w) {
  w->len = 0;
  w->bad = 0;
}

void writer_free(struct writer *w) {
  free(w->buf);
  writer_init(w, w->max);
}

void wr_bytes(struct writer *w, const void *p, size_t n) {
  if (w->bad || n > w->max - w->len) {
    w->bad = 1;
    return;
  }
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n) cap *= 2;
    if (cap > w->max) cap = w->max;
    uint8_t *b = realloc(w->buf, cap);
    if (!b) {
      w->bad = 1;
      return;
    }
    w->buf = b;
    w->cap = cap;
  }
  if (n) memcpy(w->buf + w->len, p, n);
  w->len += n;
}

void wr_u8(struct writer *w, uint8_t v) {
  wr_bytes(w, &v, 1);
}

void wr_u32(struct writer *w, uint32_t v) {
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  wr_bytes(w, b, 4);
}

void wr_u64(struct writer *w, uint64_t v) {
  wr_u32(w, (uint32_t)(v >> 32));
  wr_u32(w, (uint32_t)v);
}

void wr_str(struct writer *w, const char *s, size_t n) {
  wr_u32(w, (uint32_t)n);
  wr_bytes(w, s, n);
}

enum frame_status frame_next(const uint8_t *buf, size_t len, struct frame_header *h) {
  if (len < FRAME_HEADER) return FRAME_MORE;
  header_decode(buf, h);
  if (h->version != PROTO_VERSION) return FRAME_BAD_VERSION;
  if (h->length > MAX_PAYLOAD) return FRAME_TOO_BIG;
  return len - FRAME_HEADER < h->length ? FRAME_MORE : FRAME_OK;
}

int decode_hello(struct reader *r, struct hello_req *h) {
  memset(h, 0, sizeof *h);
  h->version = rd_u32(r);
  h->time_ns = rd_u64(r);
  h->entropy = rd_blob(r, &h->entropy_len);
  if (r->left > 0) { /* hosts before session resume send no flags and no nonce */
    h->flags = rd_u32(r);
    h->nonce = rd_blob(r, &h->nonce_len);
  }
  if (r->left > 0) h->hostname = rd_blob(r, &h->hostname_len); /* hosts before hostnames send none */
  if (!reader_done(r) || h->nonce_len > MAX_NONCE || h->hostname_len > MAX_HOSTNAME) return -1;
  return 0;
}

int decode_exec(struct reader *r, struct exec_req *x) {
  memset(x, 0, sizeof *x);
  x->flags = rd_u32(r);
  x->uid = rd_u32(r);
  x->gid = rd_u32(r);
  x->timeout_ms = rd_u32(r);
  x->cwd = rd_str(r);
  x->argv = rd_strlist(r);
  x->env = rd_strlist(r);
  if (x->flags & EXEC_FLAG_PTY) {
    x->rows = rd_u16(r);
    x->cols = rd_u16(r);
  }
  return reader_done(r) ? 0 : -1;
}

void exec_req_free(struct exec_req *x) {
  free(x->cwd);
  strv_free(x->argv);
  strv_free(x->env);
  x->cwd = NULL;
  x->argv = x->env = NULL;
}

int decode_path_req(uint8_t type, struct reader *r, struct path_req *q) {
  memset(q, 0, sizeof *q);
  if (type == T_FILE_WRITE || type == T_MKDIR) q->mode = rd_u32(r);
  if (type == T_FILE_WRITE || type == T_MKDIR || type == T_REMOVE) q->flags = rd_u32(r);
  q->path = rd_str(r);
  if (type == T_RENAME) q->to = rd_str(r);
  return reader_done(r) ? 0 : -1;
}

void path_req_free(struct path_req *q) {
  free(q->path);
  free(q->to);
  q->path = q->to = NULL;
}
