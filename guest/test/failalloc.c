/* Linked into the test-hooks build of the agent (kiln-agent-hooks, with -Wl,--wrap=realloc and
 * --wrap=malloc): realloc fails for any size above KILN_TEST_REALLOC_LIMIT bytes, so agent-test can
 * watch the agent meet an allocation failure in the middle of building a reply (a listing, a stat)
 * or reading a request, without running the machine out of memory. Without the variables they are
 * the real functions. */
#include <stdlib.h>

void *__real_realloc(void *p, size_t n);
void *__real_malloc(size_t n);

/* With KILN_TEST_MALLOC_FAIL_SIZE=N, malloc fails for requests of exactly N bytes: a size no
 * library call asks for (agent-test uses 777), so only the string it builds to fit fails. */
void *__wrap_malloc(size_t n) {
  static long fail = -2;
  if (fail == -2) {
    const char *s = getenv("KILN_TEST_MALLOC_FAIL_SIZE");
    fail = s ? atol(s) : -1;
  }
  if (fail >= 0 && n == (size_t)fail) return NULL;
  return __real_malloc(n);
}

void *__wrap_realloc(void *p, size_t n) {
  static long limit = -2;
  if (limit == -2) {
    const char *s = getenv("KILN_TEST_REALLOC_LIMIT");
    limit = s ? atol(s) : -1;
  }
  if (limit >= 0 && n > (size_t)limit) return NULL;
  return __real_realloc(p, n);
}
