#!/usr/bin/env bash
# Assembles what every sandbox boots: the pinned Debian kernel (guest/kernel.lock), an initramfs
# whose /init is the static C agent plus the few virtio modules it loads, and a second initramfs
# with the hostile test agent. The result lands in OUT/<content hash>/ with a manifest.json, and
# OUT/current points at it; an unchanged input set is reused, not rebuilt.
#
#   scripts/build-guest.sh OUT            (e.g. build/guest)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KILN_ROOT"

out="${1:?usage: $0 OUT_DIR}"
mkdir -p "$out/cache"
out="$(cd "$out" && pwd)"

# Modules the agent loads, in the order modprobe's dependency resolution gives: virtio-mmio finds
# the microvm machine's devices through ACPI, virtio-pci the q35 machine's; ext4 and its helpers,
# ACPI, PCI and CPU and memory hot-plug are built into this kernel.
modules=(virtio_mmio virtio_pci virtio_blk virtio_console virtio_net virtio-rng overlay)

source guest/kernel.lock
deb="$out/cache/${KERNEL_PACKAGE}_${KERNEL_VERSION}_amd64.deb"
if [ ! -f "$deb" ]; then
  log "downloading $KERNEL_PACKAGE=$KERNEL_VERSION from the Debian archive"
  tmpd="$(mktemp -d "$out/cache/dl.XXXXXX")"
  chmod 755 "$tmpd" # apt's _apt user downloads into it
  (cd "$tmpd" && apt-get download -q "$KERNEL_PACKAGE=$KERNEL_VERSION") || {
    echo "kiln: cannot download $KERNEL_PACKAGE=$KERNEL_VERSION (pinned in guest/kernel.lock); is it still in the archive? (apt-cache madison $KERNEL_PACKAGE)" >&2
    exit 1
  }
  mv "$tmpd"/*.deb "$deb.part"
  rmdir "$tmpd"
  echo "$KERNEL_SHA256  $deb.part" | sha256sum -c --quiet - || { echo "kiln: $deb does not match KERNEL_SHA256 in guest/kernel.lock" >&2; rm -f "$deb.part"; exit 1; }
  mv "$deb.part" "$deb"
fi

make -s -C guest target/kiln-agent target/kiln-hostile-agent

hash="$(cat "$deb" guest/target/kiln-agent guest/target/kiln-hostile-agent "$0" | sha256sum | cut -c1-16)"
if [ -f "$out/$hash/manifest.json" ]; then
  log "guest artifacts $hash are up to date"
  ln -sfn "$hash" "$out/current.tmp" && mv -T "$out/current.tmp" "$out/current"
  exit 0
fi

work="$(mktemp -d "$out/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "assembling guest artifacts $hash"
dpkg-deb -x "$deb" "$work/pkg"
kver="$(ls "$work/pkg/lib/modules")"
depmod -b "$work/pkg" "$kver"

mkdir -p "$work/result"
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

make_initramfs() { # AGENT OUTPUT
  local root="$work/initramfs"
  rm -rf "$root"
  mkdir -p "$root"/{dev,proc,sys,newroot,kiln/modules}
  install -m 0755 "$1" "$root/init"
  mknod -m 600 "$root/dev/console" c 5 1
  mknod -m 666 "$root/dev/null" c 1 3
  modprobe -d "$work/pkg" -S "$kver" --show-depends -a "${modules[@]}" | awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' |
    while read -r ko; do
      install -m 0644 "$ko" "$root/kiln/modules/$(basename "$ko")"
      basename "$ko" >> "$root/kiln/modules/order"
    done
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
  "kernel_package": "$KERNEL_PACKAGE=$KERNEL_VERSION",
  "kernel_release": "$kver",
  "modules": "$(tr '\n' ' ' < "$work/initramfs/kiln/modules/order" | sed 's/ $//')"
}
JSON
sync -f "$work/result/manifest.json"
mv "$work/result" "$out/$hash"
ln -sfn "$hash" "$out/current.tmp" && mv -T "$out/current.tmp" "$out/current"
log "guest artifacts ready: $out/current -> $hash ($kernel, kernel $kver)"
