package dev.kiln.daemon;

/** A running Kiln daemon of any role, as `kiln daemon` starts and stops it. */
public interface Daemon extends AutoCloseable {
  /** Starts serving; a {@link DaemonStartException} says why it could not, for the operator. */
  void start() throws Exception;
}
