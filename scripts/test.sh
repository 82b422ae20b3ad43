#!/usr/bin/env bash
# The whole test suite: the guest agent's C tests, the Java unit tests, and the system tests that
# boot real microVMs (under TCG on hosts without hardware KVM), then a subset of those again with
# the test template on the q35 machine. Expects scripts/install.sh to have run (it builds the
# guest artifacts the system tests boot).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KILN_ROOT"
require_jdk25
if ! mvn -B verify -Dkiln.q35Suite.skip=false "$@"; then
  test_failure_digest
  exit 1
fi
