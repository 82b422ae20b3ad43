package dev.kiln.image.layer;

import java.io.IOException;

/** A layer that cannot be applied, naming the entry at fault: {@code layer entry "a/../b": name has a ".." component}. */
public final class LayerException extends IOException {
  LayerException(String entry, String problem) {
    super("layer entry \"" + entry + "\": " + problem);
  }

  LayerException(String entry, String problem, Throwable cause) {
    super("layer entry \"" + entry + "\": " + problem, cause);
  }
}
