/**
 * The host boundary: running external tools ({@link dev.kiln.host.CommandRunner}), crash-safe
 * file writes ({@link dev.kiln.host.AtomicFiles}), facts read off the host kernel
 * ({@link dev.kiln.host.HostFacts}) and the file syscalls the JDK lacks ({@link dev.kiln.host.Posix},
 * through FFM). Nothing here knows about sandboxes.
 */
package dev.kiln.host;
