#!/usr/bin/env bash
# Builds the web console (console/: TypeScript, xterm.js, uPlot) into OUTDIR, which Maven packs into
# the daemon's jar: type-checks with tsc, bundles with esbuild, copies the page, its styles and the
# libraries' CSS, and lists every file in OUTDIR/assets.txt. The npm packages come from the
# lockfile (npm ci, once: scripts/install.sh runs this too, so a later build needs no network).
# Maven's server module runs it in generate-resources (server/pom.xml).
#
#   scripts/build-console.sh OUTDIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
source "$(dirname "$0")/lib.sh"
out="$1"
src="$KILN_ROOT/console"
if ! command -v npm >/dev/null 2>&1; then
  echo "kiln: building the web console needs Node.js and npm (scripts/install.sh installs them)" >&2
  exit 1
fi
npm_ci_once "$src" "the web console's npm packages"
cd "$src"
node_modules/.bin/tsc --noEmit -p tsconfig.json
rm -rf "$out"
mkdir -p "$out"
node_modules/.bin/esbuild src/main.ts --bundle --format=esm --target=es2022 --minify --legal-comments=linked \
  --outfile="$out/console.js" --log-level=warning
cp index.html console.css "$out/"
cp node_modules/@xterm/xterm/css/xterm.css "$out/xterm.css"
cp node_modules/uplot/dist/uPlot.min.css "$out/uPlot.min.css"
(cd "$out" && find . -type f ! -name assets.txt | sed 's|^\./||' | sort > assets.txt)
