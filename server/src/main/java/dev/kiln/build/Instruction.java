package dev.kiln.build;

import java.util.List;
import java.util.Optional;

/**
 * One Dockerfile instruction as parsed, its arguments still unexpanded (variables are expanded as
 * the build reaches it, with the values in force there). {@code line} is where it starts.
 */
public sealed interface Instruction {
  int line();

  /** FROM image [AS name]: an image the OCI client pulls, a Kiln template, or an earlier stage. */
  record From(int line, String image, Optional<String> alias) implements Instruction {}

  record Run(int line, Command command) implements Instruction {}

  /**
   * COPY or ADD of files from the context, or with {@code from} from an earlier stage (its name or
   * index) or image. {@code sources} and {@code dest} are raw words.
   */
  record Copy(int line, boolean add, List<String> sources, String dest, Optional<String> from, Optional<String> chown, Optional<String> chmod)
      implements Instruction {
    public Copy {
      sources = List.copyOf(sources);
    }

    String keyword() {
      return add ? "ADD" : "COPY";
    }
  }

  /** ENV: raw {@code name=value} words (the legacy {@code ENV name value} form made into one). */
  record Env(int line, List<String> assignments) implements Instruction {}

  record Arg(int line, String name, Optional<String> defaultValue) implements Instruction {}

  record Workdir(int line, String path) implements Instruction {}

  record User(int line, String user) implements Instruction {}

  record Label(int line, List<String> assignments) implements Instruction {}

  record Expose(int line, List<String> ports) implements Instruction {}

  record Entrypoint(int line, Command command) implements Instruction {}

  record Cmd(int line, Command command) implements Instruction {}

  record Shell(int line, List<String> argv) implements Instruction {}

  /** VOLUME: a container runtime's mount point; a VM's disk is whole, so it is recorded in the log and nothing else. */
  record Volume(int line, String raw) implements Instruction {}
}
