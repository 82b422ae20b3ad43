package dev.kiln.cli;

import java.util.ArrayList;
import java.util.List;

/** Splits an example command line into words as sh would: single and double quotes, no expansion. */
final class Shell {
  private Shell() {}

  static List<String> words(String line) {
    List<String> out = new ArrayList<>();
    StringBuilder w = new StringBuilder();
    boolean inWord = false;
    char quote = 0;
    for (char ch : line.toCharArray()) {
      if (quote != 0) {
        if (ch == quote) quote = 0;
        else w.append(ch);
      } else if (ch == '\'' || ch == '"') {
        quote = ch;
        inWord = true;
      } else if (Character.isWhitespace(ch)) {
        if (inWord) out.add(w.toString());
        w.setLength(0);
        inWord = false;
      } else {
        w.append(ch);
        inWord = true;
      }
    }
    if (inWord) out.add(w.toString());
    return out;
  }
}
