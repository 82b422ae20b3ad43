package dev.kiln.store;

import java.util.Optional;
import java.util.OptionalLong;

/**
 * A sandbox as the list reads it, joined in one query with what its view needs beside its row.
 *
 * @param version       bumped by every state change
 * @param rootDiskBytes its root disk's virtual size, once recorded ({@link SandboxRepository#recordRootDiskBytes})
 * @param network       its network row; empty for a sandbox without a network device
 * @param nodeDown      the node that runs it is down: nothing reaches it (the API shows it as lost)
 */
public record SandboxListRow(SandboxRow sandbox, long version, OptionalLong rootDiskBytes, Optional<NetworkRow> network, boolean nodeDown) {}
