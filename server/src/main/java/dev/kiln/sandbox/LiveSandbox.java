package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.vmm.RunningVm;
import java.util.concurrent.locks.ReentrantLock;

/** The in-memory half of a running sandbox: its VM process and agent channel. */
final class LiveSandbox {
  final SandboxId id;
  /** Serializes lifecycle transitions (create, delete, failure) of this sandbox; never held during exec. */
  final ReentrantLock lifecycle = new ReentrantLock();
  volatile RunningVm vm;
  volatile AgentConnection agent;
  volatile boolean stopping;

  LiveSandbox(SandboxId id) {
    this.id = id;
  }
}
