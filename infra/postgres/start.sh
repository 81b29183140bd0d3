#!/usr/bin/env bash
# Start a local PostgreSQL (the control plane) on 127.0.0.1 with all state under .data/postgres.
# Installs Debian's postgresql when no server binary exists. Idempotent. PostgreSQL refuses to run
# as root, so under root the server runs as the `postgres` user the Debian package creates.
#
# Env: POSTGRES_PORT (5432) POSTGRES_START_TIMEOUT (60 seconds)
# The cluster's superuser is `confidant` (password `confidant`, loopback only: a development
# engine) and the database `confidant` is created on first start.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMPONENT=postgres
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$HERE/../lib/common.sh"

PORT="${POSTGRES_PORT:-5432}"
TIMEOUT="${POSTGRES_START_TIMEOUT:-60}"
STATE="$DATA/postgres"
PGDATA="$STATE/data"
OUTFILE="$LOG_DIR/postgres.log"
MATCH="-D $PGDATA"   # unique to this checkout (see pid_of)

lock_engine postgres

# ---- binaries ---------------------------------------------------------------
bin_dir() { find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -name postgres -path '*/bin/*' 2>/dev/null | sort -V | tail -n 1 | xargs -r dirname; }
BIN=$(bin_dir)
if [[ -z $BIN ]]; then
  log "no PostgreSQL server found; installing Debian's postgresql"
  apt_install postgresql
  BIN=$(bin_dir)
  [[ -n $BIN ]] || die "PostgreSQL still missing. Fix: apt-get update && apt-get install -y postgresql"
fi
# As root, every server command runs as `postgres` (setpriv execs, so the pid file holds the server's pid).
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || die "user 'postgres' missing (the Debian package creates it). Fix: apt-get install -y postgresql"
  as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi
ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 2; }

# ---- already running? -------------------------------------------------------
if pid=$(pid_of postgres "$MATCH") && ready; then
  log "already running (pid $pid, port $PORT)"
  exit 0
fi
if [[ -z ${pid:-} ]] && port_open "$PORT"; then
  die "port $PORT is taken by another process (not ours; a system postgresql service?). Stop it or set POSTGRES_PORT."
fi

# ---- first start: a new cluster ---------------------------------------------
mkdir -p "$STATE"
if ((${#as_owner[@]})); then
  chown postgres:postgres "$STATE"
  # The server must reach its data directory: grant search (not read) on any ancestor that denies it
  # (e.g. a private instance's mkdtemp directory, mode 0700).
  d=$STATE
  while [[ $d != / ]]; do
    d=$(dirname "$d")
    "${as_owner[@]}" test -x "$d" || { log "granting search permission on $d to the postgres user"; chmod o+x "$d"; }
  done
fi
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  log "initialising a new cluster in $PGDATA"
  rm -rf "$PGDATA"
  pwfile="$STATE/.initdb-password"
  printf 'confidant\n' >"$pwfile"
  if ((${#as_owner[@]})); then chown postgres:postgres "$pwfile"; fi
  "${as_owner[@]}" "$BIN/initdb" -D "$PGDATA" -U confidant --pwfile="$pwfile" --auth-host=scram-sha-256 \
    --auth-local=peer -E UTF8 --locale=C.UTF-8 >>"$OUTFILE" 2>&1 || { rm -f "$pwfile"; fail_with_log "initdb failed" "$OUTFILE"; }
  rm -f "$pwfile"
fi

# ---- launch -----------------------------------------------------------------
# Loopback TCP only (no socket file to own); statement texts of failed queries are not logged
# (log_min_error_statement=panic), so a value in a failing statement never reaches the log.
if [[ -z ${pid:-} ]]; then
  log "starting PostgreSQL on 127.0.0.1:$PORT (log: $OUTFILE)"
  rotate_log "$OUTFILE"
  echo "---- $(date -Is) start" >>"$OUTFILE"
  spawn postgres "$OUTFILE" "${as_owner[@]}" "$BIN/postgres" -D "$PGDATA" -p "$PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c shared_buffers=32MB -c max_connections=200 \
    -c log_min_error_statement=panic -c log_min_messages=warning
fi

# ---- wait until ready -------------------------------------------------------
start=$SECONDS
until ready; do
  pid_of postgres "$MATCH" >/dev/null || fail_with_log "PostgreSQL exited during startup" "$OUTFILE"
  ((SECONDS - start < TIMEOUT)) || fail_with_log "PostgreSQL not ready on port $PORT after ${TIMEOUT}s" "$OUTFILE"
  sleep 0.25
done
export PGPASSWORD=confidant
if [[ -z $("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U confidant -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'confidant'") ]]; then
  "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U confidant confidant
fi
version=$("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U confidant -d postgres -tAc 'SHOW server_version' 2>/dev/null || echo '?')
log "ready in $((SECONDS - start)) s (pid $(cat "$RUN_DIR/postgres.pid"), 127.0.0.1:$PORT, PostgreSQL $version)"
