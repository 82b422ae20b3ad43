package dev.kiln.sdk;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A new sandbox's network ({@link CreateOptions#network}; openapi.yaml, NetworkRequest). A field
 * left null is the daemon's default: mode internet once any network option is given, no egress
 * rules, no group, ports behind the access token, no bandwidth limit.
 *
 * @param allowOut CIDRs and domain names ({@code *.example.com} for names below it); non-empty: only these may be reached
 * @param denyOut CIDRs and domain names never reached; wins over allowOut
 * @param group sandboxes of one group reach each other at their addresses and as {@code <id>.kiln.internal}
 * @param isPublic its ports reachable through the daemon's port proxy without the access token
 * @param egressMbit bandwidth out of the sandbox, megabits per second; 0 is unlimited
 * @param ingressMbit bandwidth into the sandbox, megabits per second; 0 is unlimited
 */
public record NetworkOptions(Mode mode, List<String> allowOut, List<String> denyOut, String group, Boolean isPublic, Integer egressMbit,
    Integer ingressMbit) {

  /** No network device at all, or a NATed one out to the internet (under the egress rules). */
  public enum Mode { NONE, INTERNET }

  public NetworkOptions {
    allowOut = List.copyOf(allowOut == null ? List.of() : allowOut);
    denyOut = List.copyOf(denyOut == null ? List.of() : denyOut);
  }

  public static Builder builder() {
    return new Builder();
  }

  Map<String, Object> body() {
    Map<String, Object> b = new LinkedHashMap<>();
    if (mode != null) b.put("mode", mode.name().toLowerCase(Locale.ROOT));
    if (!allowOut.isEmpty()) b.put("allowOut", allowOut);
    if (!denyOut.isEmpty()) b.put("denyOut", denyOut);
    if (group != null) b.put("group", group);
    if (isPublic != null) b.put("public", isPublic);
    if (egressMbit != null) b.put("egressMbit", egressMbit);
    if (ingressMbit != null) b.put("ingressMbit", ingressMbit);
    return b;
  }

  /** Collects the options; {@link #build} makes the immutable value. Not thread-safe. */
  public static final class Builder {
    private Mode mode;
    private List<String> allowOut = List.of();
    private List<String> denyOut = List.of();
    private String group;
    private Boolean isPublic;
    private Integer egressMbit;
    private Integer ingressMbit;

    private Builder() {}

    public Builder mode(Mode mode) {
      this.mode = mode;
      return this;
    }

    public Builder allowOut(String... destinations) {
      return allowOut(List.of(destinations));
    }

    public Builder allowOut(List<String> destinations) {
      this.allowOut = destinations;
      return this;
    }

    public Builder denyOut(String... destinations) {
      return denyOut(List.of(destinations));
    }

    public Builder denyOut(List<String> destinations) {
      this.denyOut = destinations;
      return this;
    }

    public Builder group(String group) {
      this.group = group;
      return this;
    }

    public Builder isPublic(boolean isPublic) {
      this.isPublic = isPublic;
      return this;
    }

    public Builder egressMbit(int mbit) {
      this.egressMbit = mbit;
      return this;
    }

    public Builder ingressMbit(int mbit) {
      this.ingressMbit = mbit;
      return this;
    }

    public NetworkOptions build() {
      return new NetworkOptions(mode, allowOut, denyOut, group, isPublic, egressMbit, ingressMbit);
    }
  }
}
