package dev.kiln.sandbox;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What a client sees of a sandbox; {@code machine} once it has a VM.
 *
 * @param owner the id of the API key that made it ("" for one made before owners)
 */
public record Sandbox(String id, String template, SandboxState state, int vcpus, long memoryMib, long timeoutSeconds,
    Map<String, String> metadata, Instant createdAt, Optional<Instant> expiresAt, Optional<String> error, Optional<String> startedFrom, String onTimeout,
    SandboxNetworks.View network, OptionalLong diskMib, Optional<String> machine, String node, boolean lost, String owner) {}
