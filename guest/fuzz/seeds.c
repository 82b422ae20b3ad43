/* Writes fuzz/corpus: the seed inputs of fuzz_frames, valid host frames as docs/agent-protocol.md
 * defines them (one frame per file, and one file holding a whole session's stream of frames).
 * `make seeds` after a protocol change. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
  unsigned char b[4096];
  size_t n;
};

static void put(struct buf *o, const void *p, size_t n) {
  if (o->n + n > sizeof o->b) {
    fprintf(stderr, "seeds: a seed outgrew its buffer\n");
    exit(1);
  }
  memcpy(o->b + o->n, p, n);
  o->n += n;
}
static void u8(struct buf *o, unsigned v) { unsigned char c = (unsigned char)v; put(o, &c, 1); }
static void u16(struct buf *o, unsigned v) { u8(o, v >> 8); u8(o, v); }
static void u32(struct buf *o, uint32_t v) { u16(o, v >> 16); u16(o, v & 0xffff); }
static void u64(struct buf *o, uint64_t v) { u32(o, (uint32_t)(v >> 32)); u32(o, (uint32_t)v); }
static void str(struct buf *o, const char *s) { u32(o, (uint32_t)strlen(s)); put(o, s, strlen(s)); }
/* A NULL-terminated list of strings. */
static void strlist(struct buf *o, const char *const *items) {
  uint32_t n = 0;
  while (items[n]) n++;
  u32(o, n);
  for (uint32_t i = 0; i < n; i++) str(o, items[i]);
}
/* Header: version 1, type, two reserved bytes, stream id, payload length; then the payload. */
static void frame(struct buf *o, unsigned type, uint32_t stream, const struct buf *payload) {
  u8(o, 1); u8(o, type); u8(o, 0); u8(o, 0);
  u32(o, stream);
  u32(o, payload ? (uint32_t)payload->n : 0);
  if (payload) put(o, payload->b, payload->n);
}

static struct buf session;

static void seed(const char *dir, const char *name, const struct buf *data, int in_session) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data->b, 1, data->n, f) != data->n || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
  if (in_session) put(&session, data->b, data->n);
}

/* One frame of `type` on `stream` whose payload the caller built in *p (reset after). */
static void one(const char *dir, const char *name, unsigned type, uint32_t stream, struct buf *p, int in_session) {
  struct buf o = {0};
  frame(&o, type, stream, p);
  seed(dir, name, &o, in_session);
  if (p) p->n = 0;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "fuzz/corpus";
  struct buf p = {0};
  unsigned char entropy[32];
  memset(entropy, 1, sizeof entropy);

  u32(&p, 1); u64(&p, 1733300000000000000ull); u32(&p, sizeof entropy); put(&p, entropy, sizeof entropy);
  one(dir, "hello-rev1", 0x01, 0, &p, 0);
  u32(&p, 1); u64(&p, 1); str(&p, "entropy"); u32(&p, 1); str(&p, "nonce-0123456789"); str(&p, "sb-abc123");
  one(dir, "hello-rev3", 0x01, 0, &p, 1);
  const char *argv_exec[] = {"sh", "-c", "echo hi", NULL}, *env[] = {"A=1", "B=2", NULL}, *none[] = {NULL};
  u32(&p, 1); u32(&p, 0xFFFFFFFF); u32(&p, 0xFFFFFFFF); u32(&p, 5000); str(&p, "/tmp"); strlist(&p, argv_exec); strlist(&p, env);
  one(dir, "exec", 0x02, 1, &p, 1);
  u32(&p, 6); u32(&p, 1000); u32(&p, 1000); u32(&p, 0); str(&p, ""); strlist(&p, none); strlist(&p, none); u16(&p, 24); u16(&p, 80);
  one(dir, "exec-pty-login", 0x02, 3, &p, 0);
  put(&p, "input bytes\n", 12);
  one(dir, "stdin", 0x03, 1, &p, 1);
  one(dir, "stdin-close", 0x04, 1, NULL, 0);
  u32(&p, 15);
  one(dir, "signal", 0x05, 1, &p, 0);
  str(&p, "/etc/hostname");
  one(dir, "file-read", 0x06, 5, &p, 0);
  {
    struct buf o = {0}, data = {0};
    u32(&p, 0644); u32(&p, 1); str(&p, "/tmp/a/b/c.txt");
    frame(&o, 0x07, 7, &p);
    put(&data, "data", 4);
    frame(&o, 0x0F, 7, &data);
    frame(&o, 0x10, 7, NULL);
    seed(dir, "file-write", &o, 1);
    p.n = 0;
  }
  str(&p, "/");
  one(dir, "stat", 0x08, 9, &p, 0);
  str(&p, "/usr/bin");
  one(dir, "list", 0x09, 11, &p, 1);
  u32(&p, 0755); u32(&p, 1); str(&p, "/tmp/x/y");
  one(dir, "mkdir", 0x0A, 13, &p, 0);
  u32(&p, 1); str(&p, "/tmp/x");
  one(dir, "remove", 0x0B, 15, &p, 0);
  str(&p, "/tmp/from"); str(&p, "/tmp/to");
  one(dir, "rename", 0x0C, 17, &p, 1);
  one(dir, "sync", 0x0D, 19, NULL, 1);
  u32(&p, 65536);
  one(dir, "window", 0x0E, 1, &p, 1);
  one(dir, "cancel", 0x11, 1, NULL, 0);
  one(dir, "freeze", 0x12, 21, NULL, 0);
  u16(&p, 40); u16(&p, 120);
  one(dir, "resize", 0x13, 3, &p, 0);
  u64(&p, 4ull << 30);
  one(dir, "grow-root", 0x14, 23, &p, 0);
  seed(dir, "session", &session, 0);
  return 0;
}
