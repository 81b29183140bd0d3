#!/usr/bin/env bash
# Make sure Debian tools needed by tests/benchmarks are installed; apt-installs only
# those whose binary is missing, so a second run is instant.
#   usage: infra/tools/ensure.sh chromium goaccess nginx wrk
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMPONENT=tools
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$HERE/../lib/common.sh"

# Debian package -> the binary that proves it is installed.
binary_for() {
  case "$1" in
    chromium) echo chromium ;;
    goaccess) echo goaccess ;;
    nginx) echo nginx ;;   # /usr/sbin: not on every non-root PATH, see below
    wrk) echo wrk ;;
    *) return 1 ;;
  esac
}

[[ $# -gt 0 ]] || die "usage: $0 PACKAGE... (known: chromium goaccess nginx wrk)"
missing=()
for pkg in "$@"; do
  bin=$(binary_for "$pkg") || die "unknown tool '$pkg' (known: chromium goaccess nginx wrk); add it to binary_for in $0"
  if command -v "$bin" >/dev/null 2>&1 || [[ -x "/usr/sbin/$bin" || -x "/usr/bin/$bin" ]]; then
    log "$pkg: ok ($(command -v "$bin" 2>/dev/null || echo "/usr/sbin/$bin"))"
  else
    missing+=("$pkg")
  fi
done
((${#missing[@]} == 0)) && exit 0
apt_install "${missing[@]}"
for pkg in "${missing[@]}"; do
  bin=$(binary_for "$pkg")
  command -v "$bin" >/dev/null 2>&1 || [[ -x "/usr/sbin/$bin" ]] || die "$pkg installed but '$bin' not found"
  log "$pkg: installed"
done
