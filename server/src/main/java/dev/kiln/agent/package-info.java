/**
 * The host side of the guest agent protocol (docs/agent-protocol.md): frame codec, the per-sandbox
 * connection that multiplexes exec and file streams over one virtio-serial channel, and the
 * flow control that keeps one slow stream from stalling the others. Everything decoded here came
 * from a hostile guest and is bounds-checked before use.
 */
package dev.kiln.agent;
