#!/usr/bin/env bash
# `npm test`: lint, typecheck, unit tests, then integration tests against the real engines
# (started here when they are not already running, and stopped again afterwards).
# `npm run test:faults` runs the full fault-injection suite instead of its short version.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
source infra/stack/node-deps.sh
ensure_node_deps || exit 1
mode=${1:-all}
export TURBO_TELEMETRY_DISABLED=1
OUT="$ROOT/test-output"
rm -rf "$OUT" && mkdir -p "$OUT"

# Engines given from outside (KAFKA_BROKERS, CLICKHOUSE_URL, POSTGRES_URL, e.g. CI services) are used as they are;
# TEST_ENGINES=testcontainers starts modern containers instead (tests/support/engines.global.ts, needs Docker).
started=()
# Stop only the engines this run started, on every exit path: the end, Ctrl-C, SIGTERM, a closed
# terminal (SIGHUP) or a closed output pipe (`| tee` gone: SIGPIPE at the next echo). While
# stopping, nothing may interrupt it and a failed write must not matter (down's output is dropped).
stop_started() {
  local rc=$?
  trap - EXIT
  trap '' PIPE INT TERM HUP
  ((${#started[@]})) && bash infra/down "${started[@]}" >/dev/null 2>&1
  exit "$rc"
}
trap stop_started EXIT
trap 'exit 130' INT
trap 'exit 129' HUP
trap 'exit 143' TERM
trap 'exit 141' PIPE
if [[ ${TEST_ENGINES:-local} != testcontainers ]]; then
  declare -A given=([clickhouse]=${CLICKHOUSE_URL:-} [kafka]=${KAFKA_BROKERS:-} [postgres]=${POSTGRES_URL:-})
  for engine in clickhouse kafka postgres; do
    [[ -n ${given[$engine]} ]] && continue
    bash infra/status "$engine" >/dev/null 2>&1 || started+=("$engine")
  done
  if ((${#started[@]})); then
    bash infra/up "${started[@]}" || { echo "could not start ${started[*]}" >&2; exit 1; }
  fi
fi
# Debian tools the browser, log-import and benchmark tests drive (installed only when missing).
bash infra/tools/ensure.sh chromium nginx goaccess || { echo "could not install the test tools" >&2; exit 1; }

status=0
step() { echo; echo "== $1"; shift; "$@" || status=1; }

if [[ $mode == faults ]]; then
  step "fault-injection suite (full)" env FAULTS=full npx vitest run --config tests/vitest.config.ts tests/faults \
    --reporter=default --reporter=json --outputFile="$OUT/vitest-faults.json"
else
  step "format" npx prettier --check . --log-level warn
  step "lint" npx eslint .
  step "typecheck" npx turbo run typecheck --output-logs=errors-only
  step "typecheck (stack scripts, benches)" npx tsc -p tsconfig.json
  step "unit tests" npx vitest run --reporter=default --reporter=json --outputFile="$OUT/vitest-unit.json"
  step "integration tests (real Kafka and ClickHouse)" npx vitest run --config tests/vitest.config.ts \
    --reporter=default --reporter=json --outputFile="$OUT/vitest-integration.json"
  # Every bench must still run; its timings are reported (test-output/BENCHMARKS.smoke.md), never judged.
  step "benchmarks (smoke)" npx tsx bench/run.ts --smoke
fi

# One closing line over every run, in the plain form CI reads.
node -e '
const fs = require("fs"); let passed = 0, failed = 0, skipped = 0; const failures = [];
for (const f of fs.readdirSync(process.argv[1]).filter((f) => /^vitest-.*\.json$/.test(f))) {
  const r = JSON.parse(fs.readFileSync(`${process.argv[1]}/${f}`, "utf8"));
  // A suite that fails before its tests run (e.g. in beforeAll) counts no failed test, so count it here.
  const brokenSuites = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.every((a) => a.status !== "failed")).length;
  passed += r.numPassedTests; failed += r.numFailedTests + brokenSuites; skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  for (const s of r.testResults) {
    const file = s.name.replace(process.cwd() + "/", "");
    for (const a of s.assertionResults.filter((a) => a.status === "failed")) failures.push(`${file} > ${a.fullName}`);
    if (s.status === "failed" && s.assertionResults.every((a) => a.status !== "failed")) failures.push(`${file} (suite failed: ${(s.message ?? "").split("\n")[0]})`);
  }
}
// Named again at the very end, where a truncated CI log still shows them.
for (const f of failures) console.log(`FAILED ${f}`);
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (!(passed > 0)) process.exit(1);
' "$OUT" || status=1
exit $status
