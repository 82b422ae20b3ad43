package dev.kiln.net;

import java.util.Optional;

/** A sandbox's place on the network: its slot, what it asked for, and the token its proxied ports need (empty = public). */
public record Attachment(String sandboxId, Slot slot, NetworkSpec spec, Optional<String> accessToken) {
  public Attachment withSpec(NetworkSpec s) {
    return new Attachment(sandboxId, slot, s, accessToken);
  }
}
