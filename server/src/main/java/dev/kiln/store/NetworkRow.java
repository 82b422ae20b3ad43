package dev.kiln.store;

import java.util.Optional;

/** One row of {@code sandbox_networks}; the JSON columns are owned by the sandbox package. */
public record NetworkRow(String sandboxId, int slot, String specJson, Optional<String> accessToken, String forwardsJson) {}
