/**
 * Sandbox lifecycle: create (overlay disk, VM, agent handshake), exec and files through the agent,
 * delete, TTL expiry, failure detection and re-adoption of running VMs after a daemon restart. The
 * state machine is {@link dev.kiln.sandbox.SandboxState}.
 */
package dev.kiln.sandbox;
