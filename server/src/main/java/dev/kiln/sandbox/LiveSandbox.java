package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.vmm.RunningVm;
import java.util.concurrent.locks.ReentrantLock;

/** The in-memory half of a running sandbox: its VM process and agent channel. */
final class LiveSandbox {
  final SandboxId id;
  /** Serializes lifecycle transitions (create, delete, failure, pause, restore...) of this sandbox; never held during exec. */
  final ReentrantLock lifecycle = new ReentrantLock();
  volatile RunningVm vm;
  volatile AgentConnection agent;
  volatile boolean stopping;
  /** What every exec starts from, read from the store on the first and kept: it never changes (SandboxViews.execDefaults). */
  volatile ExecDefaults execDefaults;
  /** Set, under the lock, by the delete that removed the sandbox: whoever takes the lock next answers 404. */
  volatile boolean deleted;

  LiveSandbox(SandboxId id) {
    this.id = id;
  }
}
