#!/usr/bin/env bash
# Portability check: run a JSON list of SQL statements on a MODERN ClickHouse engine
# (chdb, in-process; no server) to prove that SQL written for the local 18.16 server
# also runs on current ClickHouse.
#   usage: infra/clickhouse/portability/run.sh statements.json   (or - for stdin)
# Env: PYTHON (python3) to pick the interpreter that builds the venv.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
COMPONENT=chdb
# shellcheck source=SCRIPTDIR/../../lib/common.sh
source "$HERE/../../lib/common.sh"

[[ $# -ge 1 ]] || die "usage: $0 statements.json [--verbose]"
VENV="$DATA/venv-chdb"
PY="${PYTHON:-python3}"
need "$PY" "apt-get install -y python3 python3-venv (or set PYTHON=/path/to/python3.11)"

# (Re)build the venv when missing or when requirements.txt changed (marker = its hash).
# Locked so parallel test workers don't build it twice at once.
want="$(sha256sum "$HERE/requirements.txt" | cut -c1-16)"
exec 8>"$RUN_DIR/venv-chdb.lock"
flock -w 900 8 || die "another run has been building $VENV for 900 s"
if [[ "$(cat "$VENV/.complete" 2>/dev/null)" != "$want" ]]; then
  log "creating $VENV and installing chdb (first run only, ~1 GB)..."
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" || die "python venv failed. Fix: apt-get install -y python3-venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt" >&2 \
    || die "pip install chdb failed (PyPI reachable? Python $("$PY" -V 2>&1) supported by the pinned chdb?)"
  echo "$want" >"$VENV/.complete"
fi
exec 8>&-

exec "$VENV/bin/python" "$HERE/check.py" "$@"
