#!/usr/bin/env bash
# `npm start`: install what is missing, start the engines, apply migrations, run the
# services and the sample site; Ctrl-C stops everything this script started.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
source infra/stack/node-deps.sh
ensure_node_deps

bash infra/up
cleanup() {
  trap - EXIT INT TERM
  echo "[stack] stopping engines…"
  bash infra/down || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

npm run --silent db:migrate
# The runner handles Ctrl-C itself (stops the services), then the trap stops the engines.
node --import tsx infra/stack/run-stack.ts
