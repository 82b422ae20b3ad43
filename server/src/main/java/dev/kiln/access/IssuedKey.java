package dev.kiln.access;

/** A key just made: {@code key} is shown this once and stored only as its hash. */
public record IssuedKey(String key, KeyInfo info) {}
