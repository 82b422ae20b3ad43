package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** Who is told when a sandbox's agent session opens or is about to close, and when a sandbox is deleted; who carries its processes when it moves. */
final class SandboxListeners {
  private final List<SandboxManager.AgentListener> agents = new CopyOnWriteArrayList<>();
  private final List<Consumer<String>> deleted = new CopyOnWriteArrayList<>();
  private volatile SandboxManager.ProcessCarrier processes = SandboxManager.ProcessCarrier.NONE;

  void carryProcessesWith(SandboxManager.ProcessCarrier c) {
    processes = c;
  }

  /** What carries background processes along a live migration. */
  SandboxManager.ProcessCarrier processes() {
    return processes;
  }

  void onAgent(SandboxManager.AgentListener l) {
    agents.add(l);
  }

  void onDeleted(Consumer<String> l) {
    deleted.add(l);
  }

  void attached(String sandboxId, AgentConnection agent) {
    for (SandboxManager.AgentListener l : agents) l.attached(sandboxId, agent);
  }

  void detaching(String sandboxId) {
    for (SandboxManager.AgentListener l : agents) l.detaching(sandboxId);
  }

  void deleted(String sandboxId) {
    for (Consumer<String> l : deleted) l.accept(sandboxId);
  }
}
