/* A deliberately hostile guest agent for the host's robustness tests: it boots like the real one
 * and answers HELLO correctly, then answers the first EXEC with a frame header claiming 2 GiB of
 * payload followed by garbage. The host must end this sandbox's channel and nothing else. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "init.h"

static int read_full(int fd, uint8_t *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r > 0) {
      got += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    /* EAGAIN, or EOF while no host is connected: wait and try again. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5) < 0) return -1;
    if ((p.revents & POLLHUP) && !(p.revents & POLLIN)) {
      struct timespec ts = {0, 5000000};
      nanosleep(&ts, NULL);
    }
  }
  return 0;
}

static void write_full(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      return;
    }
  }
}

int main(void) {
  if (init_early() < 0) init_halt("early boot failed");
  int fd = open_virtio_port("kiln.agent");
  if (fd < 0) init_halt("no host channel");
  agent_log("HOSTILE test agent ready");
  static uint8_t payload[MAX_PAYLOAD];
  for (;;) {
    uint8_t h[FRAME_HEADER];
    struct frame_header fh;
    if (read_full(fd, h, sizeof h) < 0) init_halt("read");
    header_decode(h, &fh);
    if (fh.length > MAX_PAYLOAD || read_full(fd, payload, fh.length) < 0) continue;
    if (fh.type == T_HELLO) {
      static const char version[] = "kiln-hostile/1";
      struct reader r;
      reader_init(&r, payload, fh.length);
      rd_u32(&r);
      rd_u64(&r);
      uint32_t len;
      rd_blob(&r, &len);
      rd_u32(&r);
      const uint8_t *nonce = rd_blob(&r, &len);
      struct writer w;
      writer_init(&w, 256);
      wr_str(&w, nonce ? (const char *)nonce : "", nonce ? len : 0);
      wr_u32(&w, PROTO_VERSION);
      wr_str(&w, version, sizeof version - 1);
      wr_u32(&w, 0);
      if (w.bad) init_halt("cannot build HELLO_OK");
      uint8_t out[FRAME_HEADER];
      header_encode(out, T_HELLO_OK, 0, (uint32_t)w.len);
      write_full(fd, out, sizeof out);
      write_full(fd, w.buf, w.len);
      writer_free(&w);
    } else if (fh.type == T_EXEC) {
      uint8_t out[FRAME_HEADER + 64];
      header_encode(out, T_STDOUT, fh.stream, 0x80000000u);
      memset(out + FRAME_HEADER, 0xA5, 64);
      write_full(fd, out, sizeof out);
    }
  }
}
