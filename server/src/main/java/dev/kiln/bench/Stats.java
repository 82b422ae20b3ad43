package dev.kiln.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Samples of one measurement, reported as a median with its spread. */
final class Stats {
  private final String name;
  private final List<Double> samples = new ArrayList<>();

  Stats(String name) {
    this.name = name;
  }

  void add(double v) {
    samples.add(v);
  }

  int samples() {
    return samples.size();
  }

  double median() {
    List<Double> s = new ArrayList<>(samples);
    Collections.sort(s);
    int n = s.size();
    return n == 0 ? Double.NaN : n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  String line(String unit) {
    List<Double> s = new ArrayList<>(samples);
    Collections.sort(s);
    return String.format("%-44s median %9.2f %-5s (n=%d, min %.2f, max %.2f)", name, median(), unit, s.size(),
        s.isEmpty() ? Double.NaN : s.getFirst(), s.isEmpty() ? Double.NaN : s.getLast());
  }
}
