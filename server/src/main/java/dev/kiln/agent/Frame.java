package dev.kiln.agent;

/** One decoded frame: type, stream id and payload (at most {@link FrameCodec#MAX_PAYLOAD} bytes). */
record Frame(FrameType type, int stream, byte[] payload) {}
