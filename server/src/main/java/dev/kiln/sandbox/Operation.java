package dev.kiln.sandbox;

/** What is asked of a sandbox, by a client or by the daemon itself; {@link Transitions} says where each may lead. */
enum Operation {
  /** Save RAM and devices to disk and stop the VM. */
  PAUSE("pause", "a pause"),
  RESUME("resume", "a resume"),
  /** Shut the VM down, keep the disk. */
  STOP("stop", "a stop"),
  START("start", "a start"),
  CHECKPOINT("checkpoint", "a checkpoint"),
  /** A fork of the live state (a fork of a named checkpoint reads only the checkpoint). */
  FORK_LIVE("fork", "a fork without a named checkpoint"),
  /** Put the sandbox back to one of its checkpoints, in place. */
  RESTORE("restore", "a restore"),
  DELETE("delete", "a delete"),
  /** The daemon found the VM dead or its agent broken, or a transition failed half-way. */
  FAIL("fail", "a failure"),
  /** Exec, files and process calls: they need the agent of a running VM (a paused sandbox is resumed for them). */
  USE("use", "exec and files"),
  /** Hot-plug CPUs or memory into the running VM (a q35 machine). */
  RESIZE("resize", "a resize"),
  /** Change TTL, network rules or port forwards: bookkeeping any sandbox that is not going away may have. */
  CONFIGURE("configure", "a change of settings"),
  /** A new VM came up for the sandbox (create, and the recovery of one whose VM answered again). */
  ATTACH("attach", "a start of its VM");

  private final String verb;
  private final String phrase;

  Operation(String verb, String phrase) {
    this.verb = verb;
    this.phrase = phrase;
  }

  /** The operation as a verb ("pause"), for messages. */
  String verb() {
    return verb;
  }

  /** The operation as a subject ("a pause"), for messages. */
  String phrase() {
    return phrase;
  }
}
