package dev.kiln.store;

import java.time.Instant;
import java.util.Optional;

/**
 * One row of {@code sandbox_tombstones}: a sandbox that is gone, why ({@code reason} DELETED or
 * EXPIRED) and when, kept until {@code purgeAt}.
 *
 * @param expiredAt its TTL deadline, for an expired sandbox
 */
public record TombstoneRow(String id, String template, String reason, Instant createdAt, Instant endedAt, Optional<Instant> expiredAt,
    long timeoutSeconds, Instant purgeAt) {}
