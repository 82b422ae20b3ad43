package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One running build VM: its agent for the steps, and {@link #commit} to freeze what a step wrote
 * as a layer of its own. A committed layer is the caller's to record (a cache entry names it) and
 * then {@link #recorded}; one never recorded is removed when the VM is closed.
 */
public final class BuildVm implements AutoCloseable {
  private final BuildVms owner;
  private final String name;
  private final RunningVm vm;
  private final AgentConnection agent;
  private final boolean network;
  /** Layers this VM made that nothing records yet: its top, and committed layers not yet recorded. */
  private final List<Path> unrecorded = new ArrayList<>();
  private Path top;
  private boolean closed;

  BuildVm(BuildVms owner, String name, RunningVm vm, AgentConnection agent, Path top, boolean network) {
    this.owner = owner;
    this.name = name;
    this.vm = vm;
    this.agent = agent;
    this.top = top;
    this.network = network;
    unrecorded.add(top);
  }

  public String name() {
    return name;
  }

  public AgentConnection agent() {
    return agent;
  }

  /**
   * Flushes the guest's writes and freezes its disk: the layer returned holds everything up to
   * now, read-only for good; the VM goes on writing to a new layer on top of it.
   */
  public synchronized Path commit() throws AgentException, VmmException, IOException, InterruptedException {
    agent.files().sync();
    Path next = vm.freezeDisk(owner.disks());
    Path frozen = top;
    top = next;
    unrecorded.add(next);
    vm.resume();
    return frozen;
  }

  /** A cache entry names {@code layer} now: collection keeps it while the entry does. */
  public synchronized void recorded(Path layer) {
    if (unrecorded.remove(layer)) owner.disks().recorded(layer);
  }

  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    agent.close();
    owner.ended(this, vm, network, List.copyOf(unrecorded));
  }
}
