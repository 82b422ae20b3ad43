#!/usr/bin/env bash
# Debian bookworm (minbase) with python3, from the Debian mirror this machine's apt uses (no other:
# the script stops and says what to configure when apt has none).
# Cached: a finished tree is marked with .kiln-complete (holding its package list) and reused
# while the list is the same.
#
#   scripts/build-base-rootfs.sh OUTDIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out="${1:?usage: $0 OUTDIR}"
# python3 with its whole standard library (python3 -m http.server, venv, json…), not just -minimal.
packages="python3,ca-certificates"

# One build of a tree at a time: a second caller (another test, a second install) waits for the
# first and then reuses what it made.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9

if [ "$(cat "$out/.kiln-complete" 2>/dev/null)" = "$packages" ]; then
  log "base rootfs: reusing $out"
  exit 0
fi

suite=bookworm
mirror="$(debian_mirror "$suite")" || exit 1
log "base rootfs: debootstrap $suite (minbase + python3) from $mirror"
rm -rf "$out.partial"
debootstrap --variant=minbase --include="$packages" "$suite" "$out.partial" "$mirror" >"$out.partial.log" 2>&1 || {
  echo "kiln: debootstrap failed; its log: $out.partial.log" >&2
  tail -20 "$out.partial.log" >&2
  exit 1
}
# Smaller template: package caches and docs are not needed in a sandbox.
rm -rf "$out.partial"/var/cache/apt/archives/*.deb "$out.partial"/var/lib/apt/lists/* "$out.partial"/usr/share/doc/* "$out.partial"/usr/share/man/*
echo kiln > "$out.partial/etc/hostname"
rm -rf "$out"
mv "$out.partial" "$out"
rm -f "$out.partial.log"
echo "$packages" > "$out/.kiln-complete"
