package dev.kiln.cluster;

import java.util.List;

/**
 * What a node reports in each heartbeat.
 *
 * @param vcpus       the most vCPUs one of its sandboxes can have (its cores)
 * @param memoryMib   its RAM
 * @param diskFreeMib free space in its data directory
 * @param sandboxes   sandboxes whose VMs run on it now
 * @param templates   templates it can start sandboxes of without fetching anything
 * @param accelerator what its VMs run on: kvm, or tcg (emulation, many times slower)
 */
public record NodeCapacity(int vcpus, long memoryMib, long diskFreeMib, int sandboxes, List<String> templates, String accelerator) {
  public NodeCapacity {
    templates = List.copyOf(templates);
  }
}
