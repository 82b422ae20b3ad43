package dev.kiln.sdk;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * What a new sandbox is made of, for {@link Sandbox#create(Kiln, CreateOptions)}: the fields of the
 * API's create request (openapi.yaml, CreateSandbox). Only the template is required; a field left
 * null is the daemon's default (TTL 300 s that deletes, 1 vCPU, 512 MiB, the template's disk, no
 * network unless the daemon's network.defaultMode says otherwise).
 *
 * <p>Sizes are checked by the daemon, whose limits depend on its host: one out of range is a
 * {@link KilnException} with code INVALID_REQUEST naming the field (HTTP 400), or HTTP 422 when
 * this host cannot give it.
 *
 * <pre>{@code
 * CreateOptions options = CreateOptions.builder("python")
 *     .vcpus(2).memoryMib(1024).ttl(Duration.ofMinutes(30)).onTimeout(CreateOptions.OnTimeout.PAUSE)
 *     .env("MODE", "test").metadata("team", "ml")
 *     .network(NetworkOptions.builder().mode(NetworkOptions.Mode.INTERNET).allowOut("pypi.org", "files.pythonhosted.org").build())
 *     .build();
 * }</pre>
 *
 * @param ttl the sandbox's time to live, in whole seconds; {@link Duration#ZERO} is no limit
 * @param onTimeout what the TTL does to the sandbox
 * @param diskMib root disk size; larger than the template's grows the disk and its filesystem
 * @param env environment for every command in the sandbox
 * @param metadata labels to find it by ({@code GET /v1/sandboxes?metadata.KEY=VALUE})
 * @param machine the VM's machine (default microvm); q35 can grow its CPUs and memory while it runs
 * @param node in a cluster, the node (id or name) to run it on; by default the control plane places it
 * @param nodeSelector in a cluster, labels the node it runs on must carry (each node's {@code cluster.labels})
 */
public record CreateOptions(String template, Duration ttl, OnTimeout onTimeout, Integer vcpus, Integer memoryMib, Integer diskMib,
    Map<String, String> env, Map<String, String> metadata, NetworkOptions network, Machine machine, String node, Map<String, String> nodeSelector) {

  /** What the TTL does: delete the sandbox, or pause it (no RAM or CPU; any request resumes it with a fresh TTL). */
  public enum OnTimeout { DELETE, PAUSE }

  /** The VM's machine: microvm (restores from template snapshots, fastest) or q35 (PCI, ACPI; CPU and memory hot-plug). */
  public enum Machine { MICROVM, Q35 }

  public CreateOptions {
    Objects.requireNonNull(template, "template");
    if (template.isBlank()) throw new IllegalArgumentException("a sandbox needs a template name, got a blank one");
    env = Map.copyOf(env == null ? Map.of() : env);
    metadata = Map.copyOf(metadata == null ? Map.of() : metadata);
    nodeSelector = Map.copyOf(nodeSelector == null ? Map.of() : nodeSelector);
  }

  /** The template at the daemon's defaults for everything else. */
  public static CreateOptions of(String template) {
    return builder(template).build();
  }

  public static Builder builder(String template) {
    return new Builder(template);
  }

  /** The create request's body: only the fields that are set. */
  Map<String, Object> body() {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("template", template);
    if (ttl != null) b.put("timeoutSeconds", ttl.toSeconds());
    if (onTimeout != null) b.put("onTimeout", onTimeout.name().toLowerCase(Locale.ROOT));
    if (vcpus != null) b.put("vcpus", vcpus);
    if (memoryMib != null) b.put("memoryMib", memoryMib);
    if (diskMib != null) b.put("diskMib", diskMib);
    if (!env.isEmpty()) b.put("env", env);
    if (!metadata.isEmpty()) b.put("metadata", metadata);
    if (network != null) b.put("network", network.body());
    if (machine != null) b.put("machine", machine.name().toLowerCase(Locale.ROOT));
    if (node != null) b.put("node", node);
    if (!nodeSelector.isEmpty()) b.put("nodeSelector", nodeSelector);
    return b;
  }

  /** Collects the options; {@link #build} makes the immutable value. Not thread-safe. */
  public static final class Builder {
    private final String template;
    private Duration ttl;
    private OnTimeout onTimeout;
    private Integer vcpus;
    private Integer memoryMib;
    private Integer diskMib;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private NetworkOptions network;
    private Machine machine;
    private String node;
    private final Map<String, String> nodeSelector = new LinkedHashMap<>();

    private Builder(String template) {
      this.template = template;
    }

    /** Whole seconds; {@link Duration#ZERO}: no limit (at most 30 days). */
    public Builder ttl(Duration ttl) {
      this.ttl = ttl;
      return this;
    }

    public Builder onTimeout(OnTimeout onTimeout) {
      this.onTimeout = onTimeout;
      return this;
    }

    public Builder vcpus(int vcpus) {
      this.vcpus = vcpus;
      return this;
    }

    public Builder memoryMib(int memoryMib) {
      this.memoryMib = memoryMib;
      return this;
    }

    public Builder diskMib(int diskMib) {
      this.diskMib = diskMib;
      return this;
    }

    public Builder env(String name, String value) {
      env.put(name, value);
      return this;
    }

    public Builder env(Map<String, String> variables) {
      env.putAll(variables);
      return this;
    }

    public Builder metadata(String key, String value) {
      metadata.put(key, value);
      return this;
    }

    public Builder metadata(Map<String, String> labels) {
      metadata.putAll(labels);
      return this;
    }

    public Builder network(NetworkOptions network) {
      this.network = network;
      return this;
    }

    /** In a cluster, the node (its id or name, kiln node list) to run the sandbox on, instead of where placement would put it. */
    public Builder node(String node) {
      this.node = node;
      return this;
    }

    /** In a cluster, labels the node must carry (each node's {@code cluster.labels}); several calls add up. */
    public Builder nodeSelector(Map<String, String> labels) {
      nodeSelector.putAll(labels);
      return this;
    }

    public Builder machine(Machine machine) {
      this.machine = machine;
      return this;
    }

    public CreateOptions build() {
      return new CreateOptions(template, ttl, onTimeout, vcpus, memoryMib, diskMib, env, metadata, network, machine, node, nodeSelector);
    }
  }
}
