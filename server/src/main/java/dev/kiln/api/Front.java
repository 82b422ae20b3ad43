package dev.kiln.api;

/**
 * A handler asked before Kiln's router, on the same port, for an API of another shape (E2B's,
 * docs/e2b.md). What it does not take goes on to the router; what it takes it answers whole,
 * errors included.
 */
public interface Front {
  /** Whether this request is the front's. */
  boolean takes(Exchange x);

  /** Answers it (completing or failing the exchange); nothing escapes. */
  void serve(Exchange x);
}
