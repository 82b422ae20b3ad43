package dev.kiln.sandbox;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A process's recent output, both streams in order, bounded in bytes. Every byte has an offset
 * counted from the process's start, so a client that went away can come back with the offset it
 * reached (its cursor) and get exactly what followed. What no longer fits is dropped from the front,
 * and a reader whose cursor points into dropped output is told how much it missed: never silently.
 */
public final class Scrollback {
  /** Output from {@code offset} on, of one stream. */
  public record Chunk(long offset, boolean stderr, byte[] data) {
    long end() {
      return offset + data.length;
    }
  }

  /**
   * What a read found: {@code dropped} bytes between the cursor and the oldest kept output, then
   * the chunks; {@code next} is the cursor to read from next; {@code ended} once the process exited
   * and everything up to {@code next} was returned.
   */
  public record Slice(long dropped, List<Chunk> chunks, long next, boolean ended) {
    /** The cursor of the oldest output returned (or of {@code next}, if none was). */
    public long firstOffset() {
      return chunks.isEmpty() ? next : chunks.getFirst().offset();
    }
  }

  private final long capacity;
  private final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
  private long start;
  private long end;
  private boolean ended;

  Scrollback(long capacityBytes) {
    this.capacity = capacityBytes;
  }

  /** A scrollback carried from another node: the same offsets, so clients' cursors stay valid. */
  Scrollback(long capacityBytes, long start, List<Chunk> kept) {
    this(capacityBytes);
    this.start = start;
    this.end = start;
    for (Chunk c : kept) {
      chunks.addLast(c);
      end += c.data().length;
    }
  }

  /** Where the kept output starts and ends, and the chunks between. */
  synchronized List<Chunk> kept() {
    return List.copyOf(chunks);
  }

  synchronized long start() {
    return start;
  }

  synchronized void append(boolean stderr, byte[] data) {
    if (data.length == 0 || ended) return;
    chunks.addLast(new Chunk(end, stderr, data));
    end += data.length;
    while (end - start > capacity) {
      Chunk first = chunks.removeFirst();
      long excess = end - start - capacity;
      if (first.data().length > excess) {
        // Keep the chunk's tail: the newest bytes are the ones worth replaying.
        int cut = (int) excess;
        chunks.addFirst(new Chunk(first.offset() + cut, first.stderr(), Arrays.copyOfRange(first.data(), cut, first.data().length)));
        start += cut;
      } else {
        start += first.data().length;
      }
    }
    notifyAll();
  }

  /** Bytes written so far, dropped ones included. */
  synchronized long length() {
    return end;
  }

  /** No more output will come (the process exited, or its output can no longer be followed here). */
  synchronized void finish() {
    ended = true;
    notifyAll();
  }

  /** Output from {@code cursor} on; with nothing to return yet, waits up to {@code wait} for more. */
  synchronized Slice read(long cursor, Duration wait) throws InterruptedException {
    long c = Math.max(0, Math.min(cursor, end));
    long deadline = System.nanoTime() + wait.toNanos();
    while (c >= end && !ended) {
      long left = deadline - System.nanoTime();
      if (left <= 0) break;
      wait(Math.max(1, left / 1_000_000));
    }
    long dropped = Math.max(0, start - c);
    c = Math.max(c, start);
    List<Chunk> out = new ArrayList<>();
    for (Chunk ch : chunks) {
      if (ch.end() <= c) continue;
      out.add(ch.offset() >= c ? ch : new Chunk(c, ch.stderr(), Arrays.copyOfRange(ch.data(), (int) (c - ch.offset()), ch.data().length)));
    }
    return new Slice(dropped, out, end, ended);
  }
}
