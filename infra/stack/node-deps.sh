# shellcheck shell=bash
# ensure_node_deps: `npm ci` when node_modules is missing or older than the lockfile.
ensure_node_deps() {
  command -v node >/dev/null || { echo "Node.js 20+ is required: apt-get install nodejs npm" >&2; exit 1; }
  local stamp=node_modules/.confidant-lock-hash want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "[setup] installing Node dependencies (npm ci)…"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
  fi
}
