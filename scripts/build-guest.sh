#!/usr/bin/env bash
# Assembles what every sandbox boots: a kernel, an initramfs whose /init is the static C agent
# (plus the virtio modules it loads, for a kernel that has them as modules), and a second
# initramfs with the hostile test agent. The result lands in OUT/<content hash>/ with a
# manifest.json, and OUT/current points at it; an unchanged input set is reused, not rebuilt.
#
# The kernel (--kernel):
#   kiln     Kiln's own, built from Debian's source by scripts/build-guest-kernel.sh (cached);
#   debian   Debian's cloud kernel package, pinned in guest/kernel.lock;
#   auto     kiln, or debian with a warning when that build fails (the default).
#
#   scripts/build-guest.sh [--kernel kiln|debian|auto] OUT       (e.g. build/guest)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KILN_ROOT"

flavor=auto
if [ "${1:-}" = --kernel ]; then flavor="${2:-}"; shift 2; fi
case "$flavor" in kiln|debian|auto) ;; *) echo "usage: $0 [--kernel kiln|debian|auto] OUT_DIR" >&2; exit 2 ;; esac
out="${1:?usage: $0 [--kernel kiln|debian|auto] OUT_DIR}"
mkdir -p "$out/cache"
out="$(cd "$out" && pwd)"
source guest/kernel.lock

if [ "$flavor" != debian ]; then
  if kiln_vmlinux="$(scripts/build-guest-kernel.sh "$out")"; then
    flavor=kiln
  elif [ "$flavor" = auto ]; then
    log "WARNING: Kiln's guest kernel did not build (above); sandboxes boot Debian's cloud kernel instead, which is slower to boot and costs more idle CPU"
    flavor=debian
  else
    exit 1
  fi
fi

# Modules the agent loads from a Debian kernel, in the order modprobe's dependency resolution
# gives: virtio-mmio finds the microvm machine's devices through ACPI, virtio-pci the q35
# machine's; ext4 and its helpers, ACPI, PCI and CPU and memory hot-plug are built into it.
# Kiln's kernel has all of these built in.
modules=(virtio_mmio virtio_pci virtio_blk virtio_console virtio_net virtio-rng overlay)
if [ "$flavor" = debian ]; then
  deb="$(fetch_pinned_deb "$KERNEL_PACKAGE" "$KERNEL_VERSION" "$KERNEL_SHA256" "$out/cache")"
  kernel_input="$deb"
else
  kernel_input="$kiln_vmlinux"
fi

make -s -C guest target/kiln-agent target/kiln-hostile-agent

hash="$(cat "$kernel_input" guest/target/kiln-agent guest/target/kiln-hostile-agent "$0" | sha256sum | cut -c1-16)"
if [ -f "$out/$hash/manifest.json" ]; then
  log "guest artifacts $hash are up to date"
  ln -sfn "$hash" "$out/current.tmp" && mv -T "$out/current.tmp" "$out/current"
  exit 0
fi

work="$(mktemp -d "$out/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "assembling guest artifacts $hash"
mkdir -p "$work/result"
kernel=vmlinux
if [ "$flavor" = kiln ]; then
  cp "$kiln_vmlinux" "$work/result/vmlinux"
  kver="$(cat "$(dirname "$kiln_vmlinux")/release")"
  kernel_source="$SOURCE_PACKAGE=$SOURCE_VERSION with guest/kernel/kiln.config ($(basename "$(dirname "$kiln_vmlinux")"))"
else
  dpkg-deb -x "$deb" "$work/pkg"
  kver="$(ls "$work/pkg/lib/modules")"
  depmod -b "$work/pkg" "$kver"
  kernel_source="$KERNEL_PACKAGE=$KERNEL_VERSION"
  # Boot the uncompressed vmlinux through PVH when it can be pulled out of the bzImage (about a
  # third faster to boot under TCG: no decompression); otherwise boot the bzImage itself.
  bz="$work/pkg/boot/vmlinuz-$kver"
  offset="$(grep -obUaP '\x02\x21\x4c\x18' "$bz" | head -1 | cut -d: -f1 || true)"
  kernel=vmlinuz
  if [ -n "$offset" ]; then
    # lz4 complains about the bytes that follow the payload; the ELF check below is what counts.
    tail -c +"$((offset + 1))" "$bz" | lz4 -dc > "$work/vmlinux" 2>/dev/null || true
    if head -c 4 "$work/vmlinux" | grep -q 'ELF'; then
      kernel=vmlinux
      mv "$work/vmlinux" "$work/result/vmlinux"
    fi
  fi
  [ "$kernel" = vmlinuz ] && cp "$bz" "$work/result/vmlinuz"
fi

make_initramfs() { # AGENT OUTPUT
  local root="$work/initramfs"
  rm -rf "$root"
  mkdir -p "$root"/{dev,proc,sys,newroot,kiln/modules}
  install -m 0755 "$1" "$root/init"
  mknod -m 600 "$root/dev/console" c 5 1
  mknod -m 666 "$root/dev/null" c 1 3
  touch "$root/kiln/modules/order"
  if [ "$flavor" = debian ]; then
    modprobe -d "$work/pkg" -S "$kver" --show-depends -a "${modules[@]}" | awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' |
      while read -r ko; do
        install -m 0644 "$ko" "$root/kiln/modules/$(basename "$ko")"
        basename "$ko" >> "$root/kiln/modules/order"
      done
  fi
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --owner=0:0 --reproducible) > "$2"
}
make_initramfs guest/target/kiln-agent "$work/result/initrd.cpio"
make_initramfs guest/target/kiln-hostile-agent "$work/result/initrd-hostile.cpio"

cat > "$work/result/manifest.json" <<JSON
{
  "kernel": "$kernel",
  "initrd": "initrd.cpio",
  "initrd_hostile": "initrd-hostile.cpio",
  "cmdline": "",
  "kernel_flavor": "$flavor",
  "kernel_source": "$kernel_source",
  "kernel_release": "$kver",
  "modules": "$(tr '\n' ' ' < "$work/initramfs/kiln/modules/order" | sed 's/ $//')"
}
JSON
sync -f "$work/result/manifest.json"
mv "$work/result" "$out/$hash"
ln -sfn "$hash" "$out/current.tmp" && mv -T "$out/current.tmp" "$out/current"
log "guest artifacts ready: $out/current -> $hash ($kernel, $flavor kernel $kver)"
