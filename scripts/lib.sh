# Shared helpers for Kiln's scripts. Source it; it defines functions only.

KILN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Prints the home of a JDK 25: $JAVA_HOME if it is one, else the first under /usr/lib/jvm.
find_jdk25() {
  local candidate
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*25*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    if "$candidate/bin/java" -version 2>&1 | grep -qE 'version "25([."]|$)'; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

require_jdk25() {
  local jdk
  if ! jdk="$(find_jdk25)"; then
    echo "kiln: no JDK 25 found (looked at \$JAVA_HOME and /usr/lib/jvm/*25*)." >&2
    echo "kiln: install one, e.g. Eclipse Temurin 25 (package temurin-25-jdk from packages.adoptium.net), or set JAVA_HOME." >&2
    exit 1
  fi
  export JAVA_HOME="$jdk"
  export PATH="$JAVA_HOME/bin:$PATH"
}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
