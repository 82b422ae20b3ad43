package dev.kiln.error;

/** Stable error codes, as they appear in {@code {"error":{"code":…}}}. */
public enum ErrorCode {
  INVALID_REQUEST,
  INVALID_JSON,
  UNAUTHORIZED,
  /** The key is valid but its role may not do this (a user key on an admin route). */
  FORBIDDEN,
  /** The key's limit (sandboxes, vCPUs, memory, templates) would be passed; nothing was made. */
  QUOTA_EXCEEDED,
  KEY_NOT_FOUND,
  ROUTE_NOT_FOUND,
  METHOD_NOT_ALLOWED,
  PAYLOAD_TOO_LARGE,
  /** Request headers beyond the server's limit (answered by Jetty itself, through ErrorPages). */
  HEADERS_TOO_LARGE,
  SANDBOX_NOT_FOUND,
  TEMPLATE_NOT_FOUND,
  TEMPLATE_NOT_READY,
  TEMPLATE_IN_USE,
  TEMPLATE_BUSY,
  /** A build under a template name another key (or the operator) owns. */
  TEMPLATE_NAME_TAKEN,
  TEMPLATE_BUILD_FAILED,
  /** A Dockerfile that does not parse, uses what Kiln does not build, or copies from outside its context; the message names the line. */
  INVALID_DOCKERFILE,
  SANDBOX_NOT_RUNNING,
  ILLEGAL_TRANSITION,
  EXEC_FAILED,
  /** The guest found no such program (errno ENOENT from execve): a shell's 127. */
  COMMAND_NOT_FOUND,
  /** The program is there but cannot be run (EACCES, ENOEXEC, EISDIR): a shell's 126. */
  COMMAND_NOT_EXECUTABLE,
  FILE_NOT_FOUND,
  FILE_CONFLICT,
  PERMISSION_DENIED,
  INSUFFICIENT_CAPACITY,
  GUEST_ERROR,
  GUEST_UNAVAILABLE,
  VM_START_FAILED,
  SNAPSHOT_FAILED,
  CHECKPOINT_NOT_FOUND,
  CHECKPOINT_EXISTS,
  /** A sandbox has as many checkpoints as sandboxQuotas.checkpoints allows. */
  CHECKPOINT_LIMIT,
  POOL_NOT_FOUND,
  PROCESS_NOT_FOUND,
  FORWARD_NOT_FOUND,
  PORT_IN_USE,
  NETWORK_UNAVAILABLE,
  DISK_FULL,
  /** A checkpoint or pause would take a sandbox past sandboxQuotas.diskMib of host disk. */
  DISK_QUOTA_EXCEEDED,
  /** The object store that holds a cluster's artifacts could not be used (unreachable, refused, or it held a corrupt object). */
  OBJECT_STORE_FAILED,
  /** No node of the cluster has this id. */
  NODE_NOT_FOUND,
  /** No node takes new sandboxes now: every one is cordoned or down. */
  NO_NODE_AVAILABLE,
  /** The sandbox runs on a node that is down: nothing reaches it until the node is back. */
  SANDBOX_LOST,
  /** The node that runs the sandbox did not answer the control plane (a network fault, or a node that just died). */
  NODE_UNREACHABLE,
  /** A node was asked about a sandbox another node runs (the control plane routed with a stale row). */
  WRONG_NODE,
  /** A live migration did not finish; the sandbox runs on where it was (its events say why). */
  MIGRATION_FAILED,
  INTERNAL,
  /** The sandbox was deleted by a request; its tombstone (events, when and why) is kept for a while. */
  SANDBOX_DELETED,
  /** The sandbox's TTL ran out and it was deleted; its tombstone is kept for a while. */
  SANDBOX_EXPIRED
}
