package dev.kiln.agent;

/** The guest broke the wire protocol; the channel that saw it is closed and never trusted again. */
public final class ProtocolException extends Exception {
  public ProtocolException(String message) {
    super(message);
  }
}
