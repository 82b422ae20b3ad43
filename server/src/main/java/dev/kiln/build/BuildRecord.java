package dev.kiln.build;

import java.util.ArrayList;
import java.util.List;

/**
 * What a Dockerfile build did, step by step, kept beside its log as {@code build.json}: which steps
 * ran and which came from the cache, and how many VMs the build started (none for a rebuild with
 * nothing changed).
 */
public final class BuildRecord {
  /** One instruction: its number in the whole Dockerfile, its line, what it was, and how it was done. */
  public record Step(int step, int line, String instruction, String outcome, long ms) {}

  public static final String RAN = "ran";
  public static final String CACHED = "cached";
  public static final String CONFIG = "config";
  private final List<Step> steps = new ArrayList<>();
  private int vmsStarted;
  private String result = "building";
  private String error;

  synchronized void step(Step s) {
    steps.add(s);
  }

  synchronized void vmStarted() {
    vmsStarted++;
  }

  synchronized void ended(String result, String error) {
    this.result = result;
    this.error = error;
  }

  public synchronized List<Step> steps() {
    return List.copyOf(steps);
  }

  public synchronized int vmsStarted() {
    return vmsStarted;
  }

  public synchronized String result() {
    return result;
  }

  public synchronized String error() {
    return error;
  }

  synchronized long count(String outcome) {
    return steps.stream().filter(s -> s.outcome().equals(outcome)).count();
  }
}
