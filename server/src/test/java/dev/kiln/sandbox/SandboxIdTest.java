package dev.kiln.sandbox;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SandboxIdTest {
  @Test
  void randomIdsAreValidAndDistinct() {
    SandboxId a = SandboxId.random();
    assertTrue(SandboxId.isValid(a.value()));
    assertNotEquals(a, SandboxId.random());
  }

  @Test
  void traversalAndJunkAreNotIds() {
    assertFalse(SandboxId.isValid("../../etc"));
    assertFalse(SandboxId.isValid("sb-AAAAAAAAAAAAAAAA"));
    assertThrows(IllegalArgumentException.class, () -> new SandboxId("sb-"));
  }
}
