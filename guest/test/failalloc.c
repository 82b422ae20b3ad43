/* Linked into a test build of the agent (kiln-agent-failalloc, with -Wl,--wrap=realloc): realloc
 * fails for any size above KILN_TEST_REALLOC_LIMIT bytes, so agent-test can watch the agent meet
 * an allocation failure in the middle of building a reply (a listing, a stat) without running the
 * machine out of memory. Without the variable it is the real realloc. */
#include <stdlib.h>

void *__real_realloc(void *p, size_t n);

void *__wrap_realloc(void *p, size_t n) {
  static long limit = -2;
  if (limit == -2) {
    const char *s = getenv("KILN_TEST_REALLOC_LIMIT");
    limit = s ? atol(s) : -1;
  }
  if (limit >= 0 && n > (size_t)limit) return NULL;
  return __real_realloc(p, n);
}
