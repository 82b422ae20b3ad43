#!/usr/bin/env bash
# The E2B compatibility suite: the unmodified `e2b` npm SDK (e2b-tests/, node:test) driving a running
# Kiln through its E2B-compatible API. Installs the suite's npm packages first if they are missing or
# older than its lockfile (scripts/install.sh already did, so a run needs no network), then runs it.
# The suite takes its target from the environment, passed through unchanged:
#   KILN_E2B_TEMPLATE                 template to create sandboxes from (required)
#   E2B_API_KEY                       a Kiln API key (required)
#   E2B_API_URL and E2B_SANDBOX_URL   plain mode: the API and envd base URLs, e.g. both http://127.0.0.1:PORT
#   E2B_DOMAIN (+ NODE_EXTRA_CA_CERTS)  or https mode: https://api.DOMAIN and https://49983-SANDBOX.DOMAIN
# One file or test alone: cd e2b-tests && node --test --test-name-pattern=PATTERN test/FILE.test.mjs
# With `bench`, it runs kiln bench's E2B line instead (e2b-tests/bench/commands-run.mjs).
#
#   scripts/e2b-tests.sh [bench]
set -euo pipefail
case "${1:-}" in
  "") ;;
  bench) ;;
  *) echo "usage: $0 [bench] (the environment says what to test)" >&2; exit 2 ;;
esac
source "$(dirname "$0")/lib.sh"
cd "$KILN_ROOT/e2b-tests"
install_e2b_tests
PATH="$(e2b_node_dir):$PATH"
if [ "${1:-}" = bench ]; then exec node bench/commands-run.mjs; fi
exec npm test --silent
