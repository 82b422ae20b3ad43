#!/usr/bin/env bash
# Kiln's main job, end to end: start the daemon, make sure the `base` template exists, create a
# sandbox, run python3 in it, print the result, delete the sandbox, stop the daemon.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KILN_ROOT"
require_jdk25

data_dir="${KILN_DATA_DIR:-/var/lib/kiln}"
port="${KILN_DEMO_PORT:-7788}"
export KILN_URL="http://127.0.0.1:$port"
export KILN_API_KEY="${KILN_API_KEY:-demo-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}"

if [ ! -f "$data_dir/templates/base/rootfs.ext4" ]; then
  scripts/build-base-rootfs.sh build/rootfs/base
  ./kiln template import base --dir build/rootfs/base --data-dir "$data_dir"
fi

log "starting kiln daemon on $KILN_URL (log: $data_dir/demo-daemon.log)"
# KILN_DEMO_CONFIG: a daemon config file (the test suite gives its own network prefix and ports).
config=()
[ -n "${KILN_DEMO_CONFIG:-}" ] && config=(--config "$KILN_DEMO_CONFIG")
./kiln daemon --data-dir "$data_dir" --listen "127.0.0.1:$port" "${config[@]}" >"$data_dir/demo-daemon.log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -fsS "$KILN_URL/healthz" >/dev/null 2>&1 && break
  kill -0 $daemon 2>/dev/null || { echo "kiln: the daemon exited; its log:" >&2; tail -30 "$data_dir/demo-daemon.log" >&2; exit 1; }
  sleep 0.2
done

log "creating a sandbox from 'base' and running: python3 -c 'print(6*7)'"
start=$(date +%s%N)
result="$(./kiln run --template base -- python3 -c 'print(6*7)')"
took=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$result"
log "sandbox created, ran and deleted in ${took} ms"
