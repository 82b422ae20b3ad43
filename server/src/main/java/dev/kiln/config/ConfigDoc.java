package dev.kiln.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The documentation of one config key, on its record component: {@link ConfigReference} reads
 * it, with the type and the default from the record tree itself, into docs/config.md, and
 * ConfigReferenceTest fails when a key has none or when the published file is not what the tree
 * generates.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface ConfigDoc {
  /** One line: what the key controls (Markdown; put {@code <placeholders>} in backticks). */
  String value();

  /**
   * The values the record accepts: {@code "1..3600"} (integers, both ends included; the test
   * checks both ends and one beyond each), or free text such as {@code "host:port"}. Enums and
   * {@link #values()} need none.
   */
  String range() default "";

  /** The only values accepted, for a string key (the test checks each, and one that is not). */
  String[] values() default {};

  /** What the default means, where the value the record fills in does not say it (a null that means "decide at start"). */
  String defaultText() default "";
}
