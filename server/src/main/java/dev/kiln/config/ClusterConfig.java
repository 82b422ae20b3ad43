package dev.kiln.config;

import java.net.URI;

/**
 * How this daemon appears among a cluster's nodes, and how fast a silent node is given up on. One
 * host needs none of it: its combined daemon registers itself as the only node. Each key's
 * description and range: its {@link ConfigDoc}, published as docs/config.md.
 */
public record ClusterConfig(
    @ConfigDoc(value = "what this daemon is in its cluster: `combined` runs VMs and serves the public API (one host); `control` serves the public API and leads the cluster's jobs, and runs no VM (any number of them, on PostgreSQL); `node` runs VMs and serves only the control plane (`--role`)", defaultText = "COMBINED")
    Role role,
    @ConfigDoc(value = "the node's name in `kiln node list`", defaultText = "the host's name")
    String nodeName,
    @ConfigDoc(value = "the URL the control plane reaches this node's API at", range = "http(s)://host:port", defaultText = "http://<listen>")
    String advertiseUrl,
    @ConfigDoc(value = "how often the node reports its capacity", range = "1..60")
    int heartbeatSeconds,
    @ConfigDoc(value = "a node silent this long is marked down and nothing is placed on it; make it several heartbeats (the daemon warns otherwise), so one late report is no outage", range = "3..3600", defaultText = "30, or 3 heartbeats if that is longer")
    int nodeDownAfterSeconds,
    @ConfigDoc(value = "labels this node is placed by: a create's `nodeSelector` picks among the nodes that carry all of its labels (e.g. {\"zone\": \"eu-1\", \"kvm\": \"real\"})", range = "keys and values 1..63 of A-Za-z0-9._/-", defaultText = "none")
    java.util.Map<String, String> labels) {

  public static final ClusterConfig DEFAULT = new ClusterConfig(null, null, null, 0, 0, null);

  /** What a label's key and value may be: plain words, so that they need no quoting anywhere they are shown. */
  public static final String LABEL = "[A-Za-z0-9._/-]{1,63}";

  /** The three ways to run the daemon (docs/adr/0017). */
  public enum Role {
    /** VMs and the public API in one process, no hop between them: one host. */
    COMBINED,
    /** The public API and the cluster's jobs; no VM, no data directory of its own beyond its id. */
    CONTROL,
    /** VMs, serving the control plane only. */
    NODE;

    public String flag() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public ClusterConfig {
    if (role == null) role = Role.COMBINED;
    labels = labels == null ? java.util.Map.of() : java.util.Map.copyOf(labels);
    for (var l : labels.entrySet()) {
      if (!l.getKey().matches(LABEL) || !l.getValue().matches(LABEL)) {
        throw new IllegalArgumentException("cluster.labels: keys and values must be 1..63 of A-Za-z0-9._/-, got '" + l.getKey() + "': '" + l.getValue() + "'");
      }
    }
    if (nodeName != null && !nodeName.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
      throw new IllegalArgumentException("cluster.nodeName must be 1-63 of letters, digits, '.', '_', '-', got '" + nodeName + "'");
    }
    if (advertiseUrl != null) {
      URI u;
      try {
        u = URI.create(advertiseUrl);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("cluster.advertiseUrl must be a URL like http://host:port, got '" + advertiseUrl + "'");
      }
      if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
        throw new IllegalArgumentException("cluster.advertiseUrl must be an http:// or https:// URL with a host, got '" + advertiseUrl + "'");
      }
    }
    if (heartbeatSeconds == 0) heartbeatSeconds = 5;
    if (heartbeatSeconds < 1 || heartbeatSeconds > 60) throw new IllegalArgumentException("cluster.heartbeatSeconds must be 1..60, got " + heartbeatSeconds);
    if (nodeDownAfterSeconds == 0) nodeDownAfterSeconds = Math.max(30, 3 * heartbeatSeconds);
    if (nodeDownAfterSeconds < 3 || nodeDownAfterSeconds > 3600) {
      throw new IllegalArgumentException("cluster.nodeDownAfterSeconds must be 3..3600, got " + nodeDownAfterSeconds);
    }
  }

  public ClusterConfig withRole(Role r) {
    return new ClusterConfig(r, nodeName, advertiseUrl, heartbeatSeconds, nodeDownAfterSeconds, labels);
  }
}
