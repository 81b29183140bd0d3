#!/usr/bin/env bash
# `npm start`: install what is missing, start the engines, apply migrations, run the
# services and the sample site; Ctrl-C, SIGTERM or a closed terminal (SIGHUP) stops the
# services first and then the engines, even when the output pipe (`| tee`) is gone.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
source infra/stack/node-deps.sh
ensure_node_deps

# Cleanup must survive a dead terminal or `| tee`: writes there fail (EPIPE, or SIGPIPE
# would kill this shell), so SIGPIPE is ignored and every failed write is ignored too.
say() { printf '[stack] %s\n' "$*" >&2 2>/dev/null || true; }
# infra/down exits at its first failed write (set -e), so it writes into this loop instead,
# which keeps reading whatever happens to our stderr.
relay() { local line; while IFS= read -r line; do printf '%s\n' "$line" >&2 2>/dev/null || true; done; }
runner=
cleanup() {
  local rc=$?
  trap - EXIT
  # Nothing may interrupt the cleanup (a second Ctrl-C, the HUP after a terminal closes).
  trap '' PIPE INT TERM HUP
  set +e
  if [[ -n $runner ]] && kill -0 "$runner" 2>/dev/null; then
    kill -TERM "$runner" 2>/dev/null
    # The runner stops its services (10 s grace each, in parallel); do not wait forever.
    for _ in $(seq 300); do kill -0 "$runner" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$runner" 2>/dev/null
    wait "$runner" 2>/dev/null
  fi
  say "stopping engines…"
  bash infra/down 2>&1 | relay
  exit "$rc"
}
# Set before the engines start, so an interrupted `infra/up` is cleaned up too.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 129' HUP
trap 'exit 143' TERM

bash infra/up
npm run --silent db:migrate
# In the background so that a signal runs the traps at once (bash defers traps until a
# foreground child exits, and the runner exits only when told to).
node --import tsx infra/stack/run-stack.ts &
runner=$!
wait "$runner"
