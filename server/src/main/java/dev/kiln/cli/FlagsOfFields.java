package dev.kiln.cli;

import java.util.Map;

/** A command that sends options as API fields: which option each field came from, for error messages. */
interface FlagsOfFields {
  Map<String, String> flagsOfFields();
}
