package dev.kiln.agent;

/** What a running guest process produced: output on one of its pipes, or its end. */
public sealed interface ExecEvent {
  record Output(boolean stderr, byte[] data) implements ExecEvent {}

  record Exited(ExitStatus status) implements ExecEvent {}
}
