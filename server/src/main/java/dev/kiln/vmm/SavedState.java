package dev.kiln.vmm;

import java.nio.file.Path;

/** A VM's device and CPU state (and its RAM, unless that lives in a {@link GuestMemory} file). */
public record SavedState(Path file, long bytes, String sha256) {}
