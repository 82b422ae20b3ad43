package dev.kiln.sandbox;

/**
 * The one {@link LifecycleSeam} every lifecycle class of a manager calls, so that a test installs
 * its seam in one place. {@link LifecycleSeam#NONE} unless a test installs another.
 */
final class Seams implements LifecycleSeam {
  private volatile LifecycleSeam installed = LifecycleSeam.NONE;

  void install(LifecycleSeam seam) {
    installed = seam;
  }

  @Override
  public void at(Point point, String sandboxId) {
    installed.at(point, sandboxId);
  }
}
