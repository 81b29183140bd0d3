#!/usr/bin/env bash
# Start a local ClickHouse server on 127.0.0.1 with all state under .data/.
# Installs Debian's clickhouse-server/-client (18.16.1, the only version apt has)
# when no ClickHouse binary exists. Idempotent.
#
# Env: CLICKHOUSE_HTTP_PORT (8123) CLICKHOUSE_TCP_PORT (9000)
#      CLICKHOUSE_LOG_LEVEL (critical by default: lower levels log the text of failed
#      queries, literals included, see README) CLICKHOUSE_START_TIMEOUT (60 seconds)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMPONENT=clickhouse
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$HERE/../lib/common.sh"

HTTP_PORT="${CLICKHOUSE_HTTP_PORT:-8123}"
TCP_PORT="${CLICKHOUSE_TCP_PORT:-9000}"
LEVEL="${CLICKHOUSE_LOG_LEVEL:-critical}"
TIMEOUT="${CLICKHOUSE_START_TIMEOUT:-60}"
STATE="$DATA/clickhouse"
ETC="$STATE/etc"
LOGFILE="$LOG_DIR/clickhouse-server.log"
OUTFILE="$LOG_DIR/clickhouse-server.out"   # stdout/stderr (crashes before logging starts)
MATCH="--config-file=$ETC/config.xml"   # unique to this checkout (see pid_of)

ping_ok() { [[ "$(curl -sf --max-time 2 "http://127.0.0.1:$HTTP_PORT/ping" 2>/dev/null)" == "Ok." ]]; }

lock_engine clickhouse
# curl is the readiness probe; bare machines may lack it.
if ! command -v curl >/dev/null 2>&1; then
  [[ $(id -u) -eq 0 ]] || die "'curl' not found. Fix: apt-get install -y curl"
  apt_install curl
fi
need curl "apt-get install -y curl"

esc() { printf '%s' "$1" | sed 's/[&|\\]/\\&/g'; }
render() {
  sed -e "s|@DATA@|$(esc "$STATE")|g" -e "s|@LOGS@|$(esc "$LOG_DIR")|g" \
      -e "s|@ETC@|$(esc "$ETC")|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
      -e "s|@TCP_PORT@|$TCP_PORT|g" \
      -e "s|<level>information</level>|<level>$(esc "$LEVEL")</level>|" "$1" >"$2"
}

# ---- already running? -------------------------------------------------------
if pid=$(pid_of clickhouse "$MATCH") && ping_ok; then
  # A running server re-reads users.xml within seconds when it changes (users and their databases);
  # config.xml changes wait for a restart (infra/down clickhouse, then infra/up).
  render "$HERE/users.xml" "$ETC/users.xml.new"
  if cmp -s "$ETC/users.xml.new" "$ETC/users.xml"; then rm -f "$ETC/users.xml.new"
  else mv "$ETC/users.xml.new" "$ETC/users.xml" && log "users.xml updated; the running server reloads it"; fi
  log "already running (pid $pid, http $HTTP_PORT)"
  exit 0
fi
if [[ -z ${pid:-} ]] && { port_open "$HTTP_PORT" || port_open "$TCP_PORT"; }; then
  die "port $HTTP_PORT or $TCP_PORT is taken by another process (not ours; a system clickhouse-server service?). Stop it or set CLICKHOUSE_HTTP_PORT/CLICKHOUSE_TCP_PORT."
fi

# ---- binary -----------------------------------------------------------------
# Debian ships /usr/sbin/clickhouse-server; upstream packages ship one `clickhouse` binary.
if command -v clickhouse-server >/dev/null 2>&1; then
  SERVER=(clickhouse-server)
elif command -v clickhouse >/dev/null 2>&1; then
  SERVER=(clickhouse server)
else
  log "no ClickHouse binary found; installing Debian's clickhouse-server + clickhouse-client"
  apt_install clickhouse-server clickhouse-client
  command -v clickhouse-server >/dev/null 2>&1 \
    || die "clickhouse-server still missing. Fix: apt-get update && apt-get install -y clickhouse-server clickhouse-client"
  SERVER=(clickhouse-server)
fi

# ---- render config ----------------------------------------------------------
mkdir -p "$ETC" "$STATE/data" "$STATE/tmp" "$STATE/user_files" "$STATE/format_schemas"
render "$HERE/config.xml" "$ETC/config.xml"
render "$HERE/users.xml" "$ETC/users.xml"

# ---- launch -----------------------------------------------------------------
# Running as root is fine for 18.16 (it does not drop privileges or refuse root);
# the Debian service runs it as user `clickhouse` only because of /var/lib ownership.
if [[ -z ${pid:-} ]]; then
  log "starting ClickHouse on 127.0.0.1 http:$HTTP_PORT tcp:$TCP_PORT (log: $LOGFILE)"
  rotate_log "$OUTFILE"
  echo "---- $(date -Is) start" >>"$OUTFILE"
  spawn clickhouse "$OUTFILE" "${SERVER[@]}" --config-file="$ETC/config.xml"
fi

# ---- wait until ready -------------------------------------------------------
start=$SECONDS
until ping_ok; do
  if ! pid_of clickhouse "$MATCH" >/dev/null; then
    fail_with_log "ClickHouse exited during startup" "$LOGFILE" "$OUTFILE"
  fi
  ((SECONDS - start < TIMEOUT)) || fail_with_log "ClickHouse not answering /ping on port $HTTP_PORT after ${TIMEOUT}s (if it runs with other ports, infra/down clickhouse first)" "$LOGFILE"
  sleep 0.25
done
version=$(curl -sf --max-time 2 "http://127.0.0.1:$HTTP_PORT/" --data-binary 'SELECT version()' || echo '?')
log "ready in $((SECONDS - start)) s (pid $(cat "$RUN_DIR/clickhouse.pid"), http 127.0.0.1:$HTTP_PORT, tcp 127.0.0.1:$TCP_PORT, ClickHouse $version)"
