#!/usr/bin/env bash
# Builds Kiln's guest kernel from Debian's kernel source (pinned in guest/kernel.lock) with
# guest/kernel/kiln.config merged over `make tinyconfig`: everything a sandbox uses built in, no
# modules, 100 Hz and tickless while idle. It boots in about half the time of Debian's cloud
# kernel under TCG and its idle VMs wake their QEMU less often (docs/adr/0028).
#
# The result is cached in OUT/kernel/<hash of the source, the config and this script>/ (vmlinux,
# config, release); an unchanged input set is reused, not rebuilt. Prints the vmlinux's path.
#
#   scripts/build-guest-kernel.sh OUT        (e.g. build/guest)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KILN_ROOT"

out="${1:?usage: $0 OUT_DIR}"
mkdir -p "$out/cache" "$out/kernel"
out="$(cd "$out" && pwd)"
fragment="$KILN_ROOT/guest/kernel/kiln.config"

source guest/kernel.lock
key="$(printf '%s\n' "$SOURCE_PACKAGE=$SOURCE_VERSION $SOURCE_SHA256" | cat - "$fragment" "$0" | sha256sum | cut -c1-16)"
result="$out/kernel/$key"
if [ -f "$result/vmlinux" ]; then
  log "guest kernel $key is up to date"
  echo "$result/vmlinux"
  exit 0
fi

for tool in flex bison bc; do
  command -v "$tool" >/dev/null || { echo "kiln: building the guest kernel needs $tool (scripts/install.sh installs it)" >&2; exit 1; }
done
[ -f /usr/include/libelf.h ] || { echo "kiln: building the guest kernel needs libelf-dev (scripts/install.sh installs it)" >&2; exit 1; }

deb="$(fetch_pinned_deb "$SOURCE_PACKAGE" "$SOURCE_VERSION" "$SOURCE_SHA256" "$out/cache")"
work="$(mktemp -d "$out/kernel/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "unpacking $SOURCE_PACKAGE=$SOURCE_VERSION"
dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './usr/src/linux-source-*.tar.xz' | tar -xJ -C "$work"
src="$(echo "$work"/linux-source-*)"

log "configuring guest kernel $key (tinyconfig + guest/kernel/kiln.config)"
make -s -C "$src" tinyconfig >/dev/null
# (both warn of every choice the fragment changes, HZ and the like: expected)
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$fragment" >/dev/null 2>&1
make -s -C "$src" olddefconfig >/dev/null 2>&1
# Every option of the fragment must be in the result as the fragment says, or the kernel would
# boot without something a sandbox needs (or with something it was meant to lose).
lost="$(kconfig_lost "$fragment" "$src/.config")"
if [ -n "$lost" ]; then
  echo "kiln: the guest kernel's configuration lost these lines of guest/kernel/kiln.config (a dependency of each is missing from it):" >&2
  echo "$lost" >&2
  exit 1
fi

jobs="$(nproc)"
log "building guest kernel $key with $jobs jobs (about 5 minutes on 2 cores; the log is $out/kernel/$key.log)"
if ! KBUILD_BUILD_TIMESTAMP="$SOURCE_VERSION" KBUILD_BUILD_USER=kiln KBUILD_BUILD_HOST=kiln \
  make -C "$src" -j"$jobs" vmlinux > "$out/kernel/$key.log" 2>&1; then
  tail -20 "$out/kernel/$key.log" >&2
  echo "kiln: the guest kernel build failed; the whole log is $out/kernel/$key.log" >&2
  exit 1
fi
mkdir -p "$work/result"
strip --strip-debug -o "$work/result/vmlinux" "$src/vmlinux"
cp "$src/.config" "$work/result/config"
make -s -C "$src" kernelrelease > "$work/result/release"
sync -f "$work/result/vmlinux"
mv -T "$work/result" "$result"
log "guest kernel ready: $result/vmlinux ($(du -h "$result/vmlinux" | cut -f1))"
echo "$result/vmlinux"
