package dev.kiln.access;

import java.time.Instant;
import java.util.Optional;

/** What is known of a key after it was issued: never the key itself, only its first characters ({@code prefix}). */
public record KeyInfo(String id, String name, Role role, String prefix, Instant createdAt, Optional<Instant> revokedAt, KeyLimits limits) {}
