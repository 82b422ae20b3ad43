package dev.kiln.image;

import dev.kiln.image.oci.ImageConfig;
import dev.kiln.image.oci.PullListener;
import java.nio.file.Path;

/**
 * Builds a template's root filesystem from a Dockerfile (the daemon wires {@code dev.kiln.build}'s
 * here, which runs the steps in VMs): the template build around it names the template, writes its
 * row and log, and takes its snapshot.
 */
public interface DockerfileBuilder {
  /**
   * The image built: a published {@link Artifacts} image file that the caller records, the
   * final stage's config, the runtime the Dockerfile and the request set, and a line for the log.
   */
  record Built(Path rootfs, long bytes, ImageConfig config, TemplateRuntime runtime, String summary) {}

  /** What a build reports as it goes: log lines, phases, and pulls (FROM an image) for progress bars. */
  interface Progress extends PullListener {
    void log(String line);

    void phase(Template.Status phase);
  }

  /**
   * Receives a build request's context (a tar, gzip'd or not) and checks its Dockerfile before the
   * build is queued: a Dockerfile that does not parse, or a COPY of what the context lacks, is
   * refused here, naming its line, with nothing left behind.
   */
  TemplateSource.Dockerfile receive(java.io.InputStream tar, String dockerfile, java.util.Map<String, String> buildArgs, BuildOptions options)
      throws java.io.IOException;

  /** The record of the template's last Dockerfile build (steps, how each was done, VMs started), if it had one. */
  java.util.Optional<java.util.Map<String, Object>> record(String template) throws java.io.IOException;

  /** Builds for {@code owner}, the key the template is built for ({@link TemplateService#OPERATOR}: the operator's): a FROM sees the templates it may use. */
  Built build(String template, String owner, TemplateSource.Dockerfile source, Progress progress) throws Exception;
}
