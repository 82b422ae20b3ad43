package dev.kiln.image.layer;

import java.util.ArrayList;
import java.util.List;

/**
 * A path from a layer, checked: relative, no ".." component, split into components with "." and
 * empty ones dropped. An empty list is the root itself. {@code entry} is the tar entry it came
 * from, for messages.
 */
record EntryName(String entry, List<String> components) {
  EntryName {
    components = List.copyOf(components);
  }

  /** The entry's own name. */
  static EntryName of(String entry) throws LayerException {
    return parse(entry, entry, "name");
  }

  /** The target of hardlink entry {@code entry}, also a path from the layer's root. */
  static EntryName linkTarget(String entry, String target) throws LayerException {
    return parse(entry, target, "hardlink target \"" + target + "\"");
  }

  private static EntryName parse(String entry, String path, String subject) throws LayerException {
    String relative = path.startsWith("./") ? path.substring(2) : path;
    if (relative.startsWith("/")) throw new LayerException(entry, subject + " is absolute");
    List<String> components = new ArrayList<>();
    for (String c : relative.split("/")) {
      if (c.equals("..")) throw new LayerException(entry, subject + " has a \"..\" component");
      if (!c.isEmpty() && !c.equals(".")) components.add(c);
    }
    return new EntryName(entry, components);
  }

  boolean isRoot() {
    return components.isEmpty();
  }

  /** The last component; only for a name that is not the root. */
  String base() {
    return components.getLast();
  }

  @Override
  public String toString() {
    return String.join("/", components);
  }
}
