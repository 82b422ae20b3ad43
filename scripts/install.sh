#!/usr/bin/env bash
# Installs everything Kiln needs on Debian 12 and builds it: OS packages, the Java build, the guest
# agent, kernel and initramfs, and (unless --without-base-template) the `base` template: Debian
# bookworm with python3, built with debootstrap from the machine's own Debian mirror.
#
#   scripts/install.sh [--without-base-template] [--data-dir DIR]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KILN_ROOT"

with_base=1
data_dir="${KILN_DATA_DIR:-/var/lib/kiln}"
while [ $# -gt 0 ]; do
  case "$1" in
    --without-base-template) with_base=0 ;;
    --data-dir) data_dir="$2"; shift ;;
    *) echo "usage: $0 [--without-base-template] [--data-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" -ne 0 ]; then
  echo "kiln: the installer needs root (apt-get, and the daemon manages VMs, disks and namespaces); run it with sudo" >&2
  exit 1
fi

# Every OS package Kiln uses, and why:
packages=(
  qemu-system-x86   # the VMM (microvm machine, qboot)
  qemu-utils        # qemu-img: per-sandbox qcow2 overlays
  e2fsprogs         # mkfs.ext4 -d: template root filesystems without mounting
  busybox-static    # the tiny test/bench template
  debootstrap       # the Debian `base` template
  cpio kmod lz4     # initramfs assembly, module dependency resolution, vmlinux extraction
  flex bison bc libelf-dev  # building Kiln's guest kernel from Debian's kernel source (scripts/build-guest-kernel.sh)
  gcc make libc6-dev  # the static C guest agent
  clang-14 libclang-rt-14-dev  # the guest agent's libFuzzer target over its frame decoding (guest: make fuzz, run by mvn verify)
  maven             # the Java build
  postgresql        # the store tests run each repository on a real PostgreSQL 15 as well as SQLite (a cluster keeps its state there)
  curl              # the demo script waits for the daemon's /healthz
  bsdutils          # script(1): the test that drives `kiln shell` on a real terminal
  iproute2 nftables util-linux acl  # sandbox networks: namespaces, veths and taps; firewall and NAT; nsenter; the VMM user's access to /dev/net/tun
  umoci skopeo docker-registry apache2-utils musl-tools openssl  # OCI tests: build images, push them to a loopback registry (htpasswd for basic auth, openssl for the token service key), a musl rootfs
  tcc               # the Dockerfile build tests compile C inside a build VM: tcc, its libraries and musl's are copied into a test image
  nodejs            # the web console is built with npm packages (console/, scripts/build-console.sh); the E2B SDK suite (e2b-tests/) and `kiln bench`'s E2B line run the e2b npm package (Node.js >= 20.18.1: where the host's is older, install_e2b_tests adds one from the npm registry; npm: below)
  chromium chromium-driver  # the web console's end-to-end test drives headless chromium through chromedriver (ConsoleBrowserSystemTest)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing OS packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's nodejs comes without npm; NodeSource's bundles it and conflicts with Debian's npm package.
if ! command -v npm >/dev/null 2>&1; then
  log "installing OS package: npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
fi

require_jdk25
log "building Kiln with $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
mvn -B -q -DskipTests package
log "training the CLI's start-up cache (JDK AOT cache, docs/adr/0008-cli-start-time.md)"
build_cli_aot "$KILN_ROOT/server/target/kiln.jar" wait ||
  log "no AOT cache for the CLI (see server/target/aot/training.log): it works without, about twice as slow to start"

# The E2B SDK suite's npm packages (and a Node.js new enough for them), now, so that running it needs no network.
install_e2b_tests

log "assembling guest kernel and initramfs"
scripts/build-guest.sh build/guest

# Each VM's QEMU runs as a uid of its own (vmm.uids, no accounts needed); every one of them is
# also in this group, which may open taps and /dev/net/tun (docs/adr/0020).
if ! getent group kiln-vmm >/dev/null 2>&1; then
  log "creating system group kiln-vmm (every VM's uid is in it)"
  groupadd --system kiln-vmm
fi

if [ "$with_base" = 1 ]; then
  scripts/build-base-rootfs.sh build/rootfs/base
  log "building template 'base' into $data_dir"
  ./kiln template import base --dir build/rootfs/base --data-dir "$data_dir"
fi
log "installed; run the daemon with: ./kiln daemon --data-dir $data_dir --dev"
