/**
 * The host boundary: running external tools ({@link dev.kiln.host.CommandRunner}), crash-safe
 * file writes ({@link dev.kiln.host.AtomicFiles}) and facts read off the host kernel
 * ({@link dev.kiln.host.HostFacts}). Nothing here knows about sandboxes.
 */
package dev.kiln.host;
