package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.sdk.CreateOptions;
import dev.kiln.sdk.NetworkOptions;
import dev.kiln.sdk.Sandbox;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "sandbox", description = "Create, list, inspect, pause, resume, stop, start, fork and delete sandboxes.",
    subcommands = {SandboxCommand.Create.class, SandboxCommand.ListSandboxes.class, SandboxCommand.Get.class, SandboxCommand.Logs.class,
        SandboxCommand.Events.class, SandboxCommand.Pause.class, SandboxCommand.Resume.class, SandboxCommand.Stop.class,
        SandboxCommand.Start.class, SandboxCommand.Fork.class, SandboxCommand.Migrate.class, SandboxCommand.Ttl.class, SandboxCommand.Resize.class, SandboxCommand.Remove.class})
final class SandboxCommand {
  static final List<String> COLUMNS = List.of("id", "status", "template", "vcpus", "memoryMib", "expiresAt");

  private SandboxCommand() {}

  static String path(String id) {
    return "/v1/sandboxes/" + Api.q(id);
  }

  /** The create options shared by {@code sandbox create} and {@code run} (the template is each one's own option), as the SDK's. */
  static final class CreateFlags {
    static final Map<String, String> FLAGS = Map.ofEntries(Map.entry("timeoutSeconds", "--ttl"), Map.entry("vcpus", "--vcpus"),
        Map.entry("memoryMib", "--memory-mib"), Map.entry("diskMib", "--disk-mib"), Map.entry("template", "--template"),
        Map.entry("env", "--env"), Map.entry("metadata", "--metadata"), Map.entry("onTimeout", "--on-timeout"), Map.entry("mode", "--network"),
        Map.entry("allowOut", "--allow-out"), Map.entry("denyOut", "--deny-out"), Map.entry("group", "--group"),
        Map.entry("egressMbit", "--egress-mbit"), Map.entry("ingressMbit", "--ingress-mbit"), Map.entry("machine", "--machine"), Map.entry("node", "--node"),
        Map.entry("nodeSelector", "--node-label"));

    @Option(names = "--ttl", paramLabel = "SECONDS", description = "delete (or pause, see --on-timeout) the sandbox after this long; 0 = never (default: the daemon's)") Long ttl;
    @Option(names = "--on-timeout", paramLabel = "delete|pause", description = "what the TTL does (default: delete)") String onTimeout;
    @Option(names = "--vcpus", paramLabel = "N", description = "virtual CPUs (default: the daemon's, 1)") Integer vcpus;
    @Option(names = "--memory-mib", paramLabel = "MIB", description = "guest RAM in MiB (default: the daemon's, 512)") Integer memoryMib;
    @Option(names = "--disk-mib", paramLabel = "MIB", description = "root disk size (default: the template's); the filesystem grows to fill it") Integer diskMib;
    @Option(names = "--machine", paramLabel = "microvm|q35", description = "the VM's machine (default: the template's, microvm unless built with --machine); q35 can grow its CPUs and memory while it runs (kiln sandbox resize)") String machine;
    @Option(names = "--node", paramLabel = "NODE", description = "in a cluster, the node (id or name, kiln node list) to run it on (default: placed by the control plane)") String node;
    @Option(names = "--node-label", paramLabel = "KEY=VALUE", description = "in a cluster, a label the node must carry (repeatable; kiln node list shows each node's)") Map<String, String> nodeLabels = new LinkedHashMap<>();
    @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE", description = "environment for every command in the sandbox (repeatable)") Map<String, String> env = new LinkedHashMap<>();
    @Option(names = "--metadata", paramLabel = "KEY=VALUE", description = "a label to find it by: kiln sandbox list --label KEY=VALUE (repeatable)") Map<String, String> metadata = new LinkedHashMap<>();
    @Option(names = "--network", paramLabel = "none|internet", description = "network mode (default: the daemon's network.defaultMode, none unless configured)") String network;
    @Option(names = "--allow-out", split = ",", paramLabel = "CIDR|DOMAIN", description = "only these CIDRs and domains may be reached (comma-separated)") List<String> allowOut;
    @Option(names = "--deny-out", split = ",", paramLabel = "CIDR|DOMAIN", description = "these CIDRs and domains may never be reached (comma-separated)") List<String> denyOut;
    @Option(names = "--group", description = "network group: sandboxes of one group reach each other") String group;
    @Option(names = "--public", description = "its ports need no access token through the proxy") boolean isPublic;
    @Option(names = "--egress-mbit", paramLabel = "MBIT", description = "bandwidth out of the sandbox, megabits per second (0 = unlimited)") Integer egressMbit;
    @Option(names = "--ingress-mbit", paramLabel = "MBIT", description = "bandwidth into the sandbox, megabits per second (0 = unlimited)") Integer ingressMbit;

    CreateOptions options(String template) {
      CreateOptions.Builder b = CreateOptions.builder(template).env(env).metadata(metadata);
      if (ttl != null) b.ttl(Duration.ofSeconds(ttl));
      if (onTimeout != null) b.onTimeout(choice(CreateOptions.OnTimeout.class, "--on-timeout", onTimeout));
      if (vcpus != null) b.vcpus(vcpus);
      if (memoryMib != null) b.memoryMib(memoryMib);
      if (diskMib != null) b.diskMib(diskMib);
      if (machine != null) b.machine(choice(CreateOptions.Machine.class, "--machine", machine));
      if (node != null) b.node(node);
      b.nodeSelector(nodeLabels);
      NetworkOptions.Builder net = NetworkOptions.builder();
      if (network != null) net.mode(choice(NetworkOptions.Mode.class, "--network", network));
      if (allowOut != null) net.allowOut(allowOut);
      if (denyOut != null) net.denyOut(denyOut);
      if (group != null) net.group(group);
      if (isPublic) net.isPublic(true);
      if (egressMbit != null) net.egressMbit(egressMbit);
      if (ingressMbit != null) net.ingressMbit(ingressMbit);
      NetworkOptions asked = net.build();
      // No network flag: no network object, so the daemon's network.defaultMode decides.
      if (!asked.equals(NetworkOptions.builder().build())) b.network(asked);
      return b.build();
    }

    /** One of an SDK enum's values, typed in lower case. */
    private static <E extends Enum<E>> E choice(Class<E> type, String flag, String value) {
      for (E e : type.getEnumConstants()) {
        if (e.name().toLowerCase(Locale.ROOT).equals(value)) return e;
      }
      String allowed = String.join("|", java.util.Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).toList());
      throw new UserError(flag + " must be one of " + allowed + ", got '" + value + "'", KilnCli.EXIT_USAGE);
    }
  }

  /** One sandbox id argument and the output format: the shape of most sandbox commands. */
  static final class OneSandbox {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Mixin Output.Options output;
  }

  @Command(name = "create", description = "Create a sandbox and print its id.",
      footer = {"", "Examples:", "  kiln sandbox create --template base --ttl 600", "  kiln sandbox create --network internet --allow-out example.com,docs.example.org"})
  static final class Create implements Callable<Integer>, FlagsOfFields {
    @Option(names = {"-t", "--template"}, defaultValue = "base", description = "template to start from (default: ${DEFAULT-VALUE})") String template;
    @Mixin CreateFlags opts;
    @Option(names = {"-o", "--output"}, paramLabel = "id|table|json", defaultValue = "id", description = "what to print: the id (default), a table or JSON") String format;

    @Override
    public Integer call() throws Exception {
      Output.Format f = format.equals("id") ? null : Output.Options.parse(format, "id|table|json");
      Api api = Api.fromEnvironment();
      Sandbox sb = Sandbox.create(api.kiln(), opts.options(template));
      if (f == null) System.out.println(sb.id());
      else Output.print(f, api.get(path(sb.id())), COLUMNS);
      return 0;
    }

    @Override
    public Map<String, String> flagsOfFields() {
      return CreateFlags.FLAGS;
    }
  }

  @Command(name = "list", aliases = "ls", description = "List sandboxes, optionally by state and labels.",
      footer = {"", "Examples:", "  kiln sandbox list --state running", "  kiln sandbox list --label team=ml -o json"})
  static final class ListSandboxes implements Callable<Integer> {
    @Option(names = "--state", paramLabel = "STATE", description = "only sandboxes in this state: creating, running, paused, stopped, stopping, error") String state;
    @Option(names = {"-l", "--label"}, paramLabel = "KEY=VALUE", description = "only sandboxes with this metadata label (repeatable; all must match)") Map<String, String> labels = new LinkedHashMap<>();
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      StringBuilder query = new StringBuilder();
      if (state != null) query.append("&state=").append(Api.q(state));
      labels.forEach((k, v) -> query.append("&metadata.").append(Api.q(k)).append('=').append(Api.q(v)));
      String path = "/v1/sandboxes" + (query.isEmpty() ? "" : "?" + query.substring(1));
      output.print(Api.fromEnvironment().get(path).path("sandboxes"), COLUMNS);
      return 0;
    }
  }

  @Command(name = "get", aliases = "inspect", description = "Show one sandbox (JSON unless -o table).")
  static final class Get implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Option(names = {"-o", "--output"}, paramLabel = "table|json", defaultValue = "json", description = "table or json (default: ${DEFAULT-VALUE})") Output.Format format;

    @Override
    public Integer call() throws Exception {
      Output.print(format, Api.fromEnvironment().get(path(id)), COLUMNS);
      return 0;
    }
  }

  @Command(name = "logs", description = "What happened to a sandbox (created how, paused, restored, failed and why); --console for its guest console.")
  static final class Logs implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Option(names = "--console", description = "print the end of the guest console instead (kernel and agent messages)") boolean console;
    @Option(names = "--bytes", defaultValue = "65536", description = "how much of the console, in bytes (default ${DEFAULT-VALUE})") int bytes;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      Api api = Api.fromEnvironment();
      if (!console) {
        output.print(api.get(path(id) + "/events").path("events"), Events.COLUMNS);
        return 0;
      }
      try (java.io.InputStream in = api.download(path(id) + "/console?bytes=" + bytes)) {
        System.out.write(ConsoleText.printable(in.readAllBytes()));
      }
      System.out.flush();
      return 0;
    }
  }

  @Command(name = "events", description = "A sandbox's events, oldest first, optionally of some kinds only.",
      footer = {"", "Example:", "  kiln sandbox events sb-abc --kind paused,resumed"})
  static final class Events implements Callable<Integer> {
    static final List<String> COLUMNS = List.of("at", "kind", "message");
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Option(names = "--kind", split = ",", paramLabel = "KIND", description = "only events of these kinds (comma-separated), e.g. created,paused,failed") List<String> kinds;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      JsonNode events = Api.fromEnvironment().get(path(id) + "/events").path("events");
      com.fasterxml.jackson.databind.node.ArrayNode kept = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
      events.forEach(e -> {
        if (kinds == null || kinds.contains(e.path("kind").asText())) kept.add(e);
      });
      output.print(kept, COLUMNS);
      return 0;
    }
  }

  /** pause, resume, stop and start: a POST named like the command, and the sandbox's new state. */
  abstract static class Transition implements Callable<Integer> {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;
    @Mixin OneSandbox target;

    @Override
    public Integer call() throws Exception {
      target.output.print(Api.fromEnvironment().post(path(target.id) + "/" + spec.name(), Map.of()), COLUMNS);
      return 0;
    }
  }

  @Command(name = "pause", description = "Save the sandbox's VM to disk and free its RAM and CPU; processes carry on after resume.")
  static final class Pause extends Transition {}

  @Command(name = "resume", description = "Restore a paused sandbox, processes and all (any exec also resumes it).")
  static final class Resume extends Transition {}

  @Command(name = "stop", description = "Shut the sandbox's VM down and keep its disk; start boots it again (processes do not survive).")
  static final class Stop extends Transition {}

  @Command(name = "start", description = "Boot a stopped sandbox from its disk.")
  static final class Start extends Transition {}

  @Command(name = "migrate", description = "Move a running sandbox to another node of a cluster, live: its processes, files, network and "
      + "port routes go with it (and the rest of its network group); prints where it went and what the move cost. "
      + "Through a control instance: a single host has nowhere to move it to.")
  static final class Migrate implements Callable<Integer> {
    static final List<String> COLUMNS = List.of("id", "fromNode", "toNode", "tookMs", "downtimeMs", "sentBytes");
    @Mixin OneSandbox target;
    @Option(names = "--node", paramLabel = "NODE", description = "the node to move to, by id or name (default: where placement puts it)") String node;
    @Option(names = "--max-downtime-ms", paramLabel = "MS", description = "longest the guest may stand still at the end (default 300)") Integer downtime;
    @Option(names = "--max-bandwidth-mibps", paramLabel = "MIB", description = "cap on the copy's rate in MiB/s (default 1024)") Integer bandwidth;

    @Override
    public Integer call() throws Exception {
      Map<String, Object> body = new LinkedHashMap<>();
      if (node != null) body.put("node", node);
      if (downtime != null) body.put("maxDowntimeMs", downtime);
      if (bandwidth != null) body.put("maxBandwidthMiBps", bandwidth);
      target.output.print(Api.fromEnvironment().post(path(target.id) + "/migrate", body), COLUMNS);
      return 0;
    }
  }

  @Command(name = "fork", description = "Start new sandboxes from a checkpoint of this one, or from its state now (a brief pause); prints their ids.",
      footer = {"", "Examples:", "  kiln sandbox fork sb-abc --count 2", "  kiln sandbox fork sb-abc --checkpoint clean"})
  static final class Fork implements Callable<Integer>, FlagsOfFields {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Option(names = {"-n", "--count"}, defaultValue = "1", description = "how many forks, 1..32 (default ${DEFAULT-VALUE})") int count;
    @Option(names = "--checkpoint", paramLabel = "NAME", description = "fork from this checkpoint (default: the sandbox as it is now)") String checkpoint;
    @Option(names = {"-o", "--output"}, paramLabel = "id|table|json", defaultValue = "id", description = "what to print: ids (default), a table or JSON") String format;

    @Override
    public Integer call() throws Exception {
      Output.Format f = format.equals("id") ? null : Output.Options.parse(format, "id|table|json");
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("count", count);
      if (checkpoint != null) body.put("checkpoint", checkpoint);
      JsonNode forks = Api.fromEnvironment().post(path(id) + "/fork", body).path("sandboxes");
      if (f == null) forks.forEach(s -> System.out.println(s.path("id").asText()));
      else Output.print(f, forks, COLUMNS);
      return 0;
    }

    @Override
    public Map<String, String> flagsOfFields() {
      return Map.of("count", "--count", "checkpoint", "--checkpoint");
    }
  }

  @Command(name = "ttl", description = "Set a sandbox's TTL, counted from now (0 = no limit).")
  static final class Ttl implements Callable<Integer>, FlagsOfFields {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Parameters(index = "1", paramLabel = "SECONDS", description = "seconds from now; 0 = no limit") long seconds;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().post(path(id) + "/timeout", Map.of("timeoutSeconds", seconds)), COLUMNS);
      return 0;
    }

    @Override
    public Map<String, String> flagsOfFields() {
      return Map.of("timeoutSeconds", "SECONDS");
    }
  }

  @Command(name = "resize", description = "Grow a running q35 sandbox's CPUs or memory (hot-plug).",
      footer = {"", "Examples:", "  kiln sandbox create --machine q35", "  kiln sandbox resize sb-q35 --vcpus 2 --memory-mib 1024"})
  static final class Resize implements Callable<Integer>, FlagsOfFields {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Option(names = "--vcpus", paramLabel = "N", description = "virtual CPUs it should have (only more)") Integer vcpus;
    @Option(names = "--memory-mib", paramLabel = "MIB", description = "memory it should have in all, in 128 MiB steps (only more)") Long memoryMib;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      if (vcpus == null && memoryMib == null) throw new UserError("give --vcpus, --memory-mib or both", KilnCli.EXIT_USAGE);
      Map<String, Object> body = new LinkedHashMap<>();
      if (vcpus != null) body.put("vcpus", vcpus);
      if (memoryMib != null) body.put("memoryMib", memoryMib);
      output.print(Api.fromEnvironment().patch(path(id), body), COLUMNS);
      return 0;
    }

    @Override
    public Map<String, String> flagsOfFields() {
      return Map.of("vcpus", "--vcpus", "memoryMib", "--memory-mib");
    }
  }

  @Command(name = "rm", aliases = "delete", description = "Delete sandboxes (their VMs, disks and checkpoints).")
  static final class Remove implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "SANDBOX", description = "sandbox ids") List<String> ids;

    @Override
    public Integer call() throws Exception {
      Api c = Api.fromEnvironment();
      for (String id : ids) c.delete(path(id));
      return 0;
    }
  }
}
