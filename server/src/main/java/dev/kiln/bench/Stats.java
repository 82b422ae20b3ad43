package dev.kiln.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Samples of one measurement in one unit, reported as a median with its tail (p90, p99) and range.
 * Percentiles are nearest-rank: with 5 samples p90 and p99 are the largest, which the line's n says.
 */
final class Stats {
  private final String name;
  private final String unit;
  private final List<Double> samples = new ArrayList<>();

  Stats(String name, String unit) {
    this.name = name;
    this.unit = unit;
  }

  String name() {
    return name;
  }

  String unit() {
    return unit;
  }

  synchronized void add(double v) {
    samples.add(v);
  }

  synchronized int samples() {
    return samples.size();
  }

  synchronized List<Double> sorted() {
    List<Double> s = new ArrayList<>(samples);
    Collections.sort(s);
    return s;
  }

  double median() {
    List<Double> s = sorted();
    int n = s.size();
    return n == 0 ? Double.NaN : n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  /** The nearest-rank percentile {@code p} (0 < p <= 100). */
  double percentile(double p) {
    List<Double> s = sorted();
    if (s.isEmpty()) return Double.NaN;
    int rank = (int) Math.ceil(p / 100 * s.size());
    return s.get(Math.clamp(rank - 1, 0, s.size() - 1));
  }

  String line() {
    List<Double> s = sorted();
    return String.format("%-44s median %9.2f %-5s (n=%d, p90 %.2f, p99 %.2f, min %.2f, max %.2f)", name, median(), unit, s.size(), percentile(90),
        percentile(99), s.isEmpty() ? Double.NaN : s.getFirst(), s.isEmpty() ? Double.NaN : s.getLast());
  }
}
