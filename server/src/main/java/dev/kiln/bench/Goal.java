package dev.kiln.bench;

/** What a path's measurement should be against its floor from the same run. */
sealed interface Goal {
  boolean met(double kiln, double floor);

  String describe();

  /** A time at most {@code max} times its floor. */
  record AtMostTimes(double max) implements Goal {
    @Override
    public boolean met(double kiln, double floor) {
      return kiln <= floor * max;
    }

    @Override
    public String describe() {
      return String.format("<= %.2fx", max);
    }
  }

  /** A time at most {@code ms} milliseconds over its floor. */
  record AtMostOver(double ms) implements Goal {
    @Override
    public boolean met(double kiln, double floor) {
      return kiln - floor <= ms;
    }

    @Override
    public String describe() {
      return String.format("<= floor + %.0f ms", ms);
    }
  }

  /** A rate at least {@code min} times its floor's. */
  record AtLeastTimes(double min) implements Goal {
    @Override
    public boolean met(double kiln, double floor) {
      return kiln >= floor * min;
    }

    @Override
    public String describe() {
      return String.format(">= %.2fx", min);
    }
  }
}
