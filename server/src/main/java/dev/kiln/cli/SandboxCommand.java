package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "sandbox", description = "Create, list, inspect and delete sandboxes.",
    subcommands = {SandboxCommand.Create.class, SandboxCommand.ListSandboxes.class, SandboxCommand.Get.class, SandboxCommand.Logs.class, SandboxCommand.Remove.class})
final class SandboxCommand {
  static final List<String> COLUMNS = List.of("id", "status", "template", "vcpus", "memoryMib", "expiresAt");

  /** The create options shared by {@code sandbox create} and {@code run}. */
  static final class CreateOptions {
    @Option(names = {"-t", "--template"}, defaultValue = "base", description = "template (default: base)") String template;
    @Option(names = "--ttl", description = "sandbox TTL in seconds (0 = none; default from the daemon)") Long ttl;
    @Option(names = "--vcpus") Integer vcpus;
    @Option(names = "--memory-mib") Integer memoryMib;
    @Option(names = "--disk-mib", description = "root disk size (default: the template's); the filesystem grows to fill it") Long diskMib;
    @Option(names = {"-e", "--env"}, description = "KEY=VALUE for every command in the sandbox") Map<String, String> env = new LinkedHashMap<>();
    @Option(names = "--metadata", description = "KEY=VALUE label") Map<String, String> metadata = new LinkedHashMap<>();
    @Option(names = "--network", description = "none or internet (default from the daemon: none unless configured)") String network;
    @Option(names = "--allow-out", split = ",", description = "CIDRs and domains the sandbox may reach (only these)") java.util.List<String> allowOut;
    @Option(names = "--deny-out", split = ",", description = "CIDRs and domains it may not reach") java.util.List<String> denyOut;
    @Option(names = "--group", description = "network group: sandboxes of one group reach each other") String group;
    @Option(names = "--public", description = "its ports need no access token through the proxy") boolean isPublic;
    @Option(names = "--egress-mbit", description = "bandwidth out of the sandbox") Integer egressMbit;
    @Option(names = "--ingress-mbit", description = "bandwidth into the sandbox") Integer ingressMbit;

    Map<String, Object> body() {
      Map<String, Object> b = new LinkedHashMap<>();
      b.put("template", template);
      if (ttl != null) b.put("timeoutSeconds", ttl);
      if (vcpus != null) b.put("vcpus", vcpus);
      if (memoryMib != null) b.put("memoryMib", memoryMib);
      if (diskMib != null) b.put("diskMib", diskMib);
      b.put("env", env);
      b.put("metadata", metadata);
      Map<String, Object> net = new LinkedHashMap<>();
      if (network != null) net.put("mode", network);
      if (allowOut != null) net.put("allowOut", allowOut);
      if (denyOut != null) net.put("denyOut", denyOut);
      if (group != null) net.put("group", group);
      if (isPublic) net.put("public", true);
      if (egressMbit != null) net.put("egressMbit", egressMbit);
      if (ingressMbit != null) net.put("ingressMbit", ingressMbit);
      if (!net.isEmpty()) b.put("network", net);
      return b;
    }
  }

  @Command(name = "create", description = "Create a sandbox and print its id.")
  static final class Create implements Callable<Integer> {
    @picocli.CommandLine.Mixin CreateOptions opts;
    @Option(names = {"-o", "--output"}, description = "id (default), json or table") String format = "id";

    @Override
    public Integer call() throws Exception {
      JsonNode sb = ApiClient.fromEnvironment().post("/v1/sandboxes", opts.body());
      if (format.equals("id")) System.out.println(sb.path("id").asText());
      else Output.print(Output.Format.valueOf(format), sb, COLUMNS);
      return 0;
    }
  }

  @Command(name = "list", description = "List sandboxes.")
  static final class ListSandboxes implements Callable<Integer> {
    @Option(names = {"-o", "--output"}, defaultValue = "table") Output.Format format;

    @Override
    public Integer call() throws Exception {
      Output.print(format, ApiClient.fromEnvironment().get("/v1/sandboxes").path("sandboxes"), COLUMNS);
      return 0;
    }
  }

  @Command(name = "get", description = "Show one sandbox.")
  static final class Get implements Callable<Integer> {
    @Parameters(index = "0") String id;
    @Option(names = {"-o", "--output"}, defaultValue = "json") Output.Format format;

    @Override
    public Integer call() throws Exception {
      Output.print(format, ApiClient.fromEnvironment().get("/v1/sandboxes/" + ApiClient.q(id)), COLUMNS);
      return 0;
    }
  }

  @Command(name = "logs", description = "What happened to a sandbox (created how, paused, restored, failed and why); --console for its guest console.")
  static final class Logs implements Callable<Integer> {
    @Parameters(index = "0") String id;
    @Option(names = "--console", description = "print the end of the guest console instead (kernel and agent messages)") boolean console;
    @Option(names = "--bytes", defaultValue = "65536", description = "how much of the console (default ${DEFAULT-VALUE})") int bytes;
    @Option(names = {"-o", "--output"}, defaultValue = "table") Output.Format format;

    @Override
    public Integer call() throws Exception {
      ApiClient api = ApiClient.fromEnvironment();
      if (!console) {
        Output.print(format, api.get("/v1/sandboxes/" + ApiClient.q(id) + "/events").path("events"), List.of("at", "kind", "message"));
        return 0;
      }
      try (java.io.InputStream in = api.download("/v1/sandboxes/" + ApiClient.q(id) + "/console?bytes=" + bytes)) {
        System.out.write(printable(in.readAllBytes()));
      }
      System.out.flush();
      return 0;
    }

    /** The guest wrote these bytes: its escape sequences must not reach the operator's terminal. */
    static byte[] printable(byte[] raw) {
      byte[] out = raw.clone();
      for (int i = 0; i < out.length; i++) {
        int b = out[i] & 0xff;
        if (b < 0x20 && b != '\n' && b != '\t' || b == 0x7f) out[i] = '?';
      }
      return out;
    }
  }

  @Command(name = "rm", description = "Delete sandboxes.")
  static final class Remove implements Callable<Integer> {
    @Parameters(arity = "1..*") List<String> ids;

    @Override
    public Integer call() throws Exception {
      ApiClient c = ApiClient.fromEnvironment();
      for (String id : ids) c.delete("/v1/sandboxes/" + ApiClient.q(id));
      return 0;
    }
  }
}
