# shellcheck shell=bash
# Helpers shared by infra/*/start.sh|stop.sh and infra/{up,down,status,reset}.
# Sourced, never executed. Callers must set ROOT (repo root) before sourcing.

: "${ROOT:?ROOT must be set before sourcing infra/lib/common.sh}"
# CONFIDANT_DATA_DIR runs a second, private instance (own state, pid files, logs; set its
# ports too), e.g. for fault tests that stop an engine; downloads stay in the shared cache.
DATA="${CONFIDANT_DATA_DIR:-$ROOT/.data}"
RUN_DIR="$DATA/run"
LOG_DIR="$DATA/logs"
CACHE_DIR="$ROOT/.data/cache"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$CACHE_DIR"

log() { printf '[%s] %s\n' "${COMPONENT:-infra}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# need BINARY "how to fix": fail early with an actionable message.
need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found. Fix: $2"
}

# Wait while another apt/dpkg run holds the lock (it may be installing right now).
wait_for_dpkg_lock() {
  local waited=0
  # fuser (psmisc) may be absent on a bare machine; apt's own Lock::Timeout then covers us.
  command -v fuser >/dev/null 2>&1 || return 0
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
    ((waited % 10 == 0)) && log "waiting for another apt/dpkg process to release its lock..."
    sleep 1; waited=$((waited + 1))
    ((waited < 600)) || die "apt/dpkg lock still held after 600 s"
  done
}

# apt_install PKG...: non-interactive install; 'apt-get update' at most once per run:
# first when a package is unknown to the local cache (fresh machines have none), or
# as a retry when the install fails (stale lists -> 404 on a kept machine).
APT_UPDATED=0
apt_update_once() {
  ((APT_UPDATED)) && return 0
  wait_for_dpkg_lock
  log "apt-get update"
  apt-get update -qq -o DPkg::Lock::Timeout=600 >>"$LOG_DIR/apt.log" 2>&1 \
    || fail_with_log "apt-get update failed" "$LOG_DIR/apt.log"
  APT_UPDATED=1
}
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "installing $* needs root: sudo apt-get install -y $*"
  local pkg
  for pkg in "$@"; do
    apt-cache show "$pkg" >/dev/null 2>&1 || apt_update_once
  done
  # Packages like nginx/clickhouse-server start their system service on install
  # (port 80, 8123/9000) unless policy-rc.d forbids it; we run our own instances,
  # so forbid it for the duration of the install (the standard Debian mechanism).
  local policy=/usr/sbin/policy-rc.d rc=0 own_policy=0
  if [[ ! -e $policy ]]; then
    own_policy=1
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    # shellcheck disable=SC2064  # expand now: remove exactly the file we created
    trap "rm -f '$policy'" EXIT
  fi
  log "apt-get install $* (output: $LOG_DIR/apt.log)"
  if ! _apt_get_install "$@"; then
    if ((APT_UPDATED)); then rc=1; else apt_update_once; _apt_get_install "$@" || rc=$?; fi
  fi
  if ((own_policy)); then rm -f "$policy"; trap - EXIT; fi
  ((rc == 0)) || fail_with_log "apt-get install $* failed. Try by hand: apt-get update && apt-get install -y $*" "$LOG_DIR/apt.log"
}
_apt_get_install() {
  wait_for_dpkg_lock
  # -o DPkg::Lock::Timeout makes apt itself wait if someone grabbed the lock after our check.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    "$@" >>"$LOG_DIR/apt.log" 2>&1
}

# port_open PORT: true if something accepts TCP on 127.0.0.1:PORT (bash builtin, no nc needed).
port_open() { timeout 1 bash -c ">/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# pid_of NAME MATCH: print the pid of our NAME instance: the one in .data/run/NAME.pid
# if alive and its command line contains MATCH (guards against pid reuse); else
# (pid file lost or stale after a crash or a race) the process whose command line
# contains MATCH, adopted into the pid file. MATCH holds a path under this repo's
# .data/, so another checkout's or the system's server never matches.
pid_of() {
  local name=$1 match=$2 pidfile="$RUN_DIR/$1.pid" pid p
  if [[ -s $pidfile ]]; then
    pid=$(<"$pidfile")
    if _cmd_matches "$pid" "$match"; then echo "$pid"; return 0; fi
  fi
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    if _cmd_matches "$p" "$match"; then echo "$p" >"$pidfile"; echo "$p"; return 0; fi
  done
  return 1
}
_cmd_matches() {
  local -a argv
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  mapfile -d '' argv 2>/dev/null <"/proc/$1/cmdline" || return 1
  [[ "${argv[*]}" == *"$2"* ]]
}

# lock_engine NAME: serialize start/stop of one engine (two `infra/up` at once would
# otherwise both launch a server). Held on fd 9 until the script exits.
lock_engine() {
  exec 9>"$RUN_DIR/$1.lock"
  flock -w 300 9 || die "another start/stop of $1 has held $RUN_DIR/$1.lock for 300 s"
}

# spawn NAME LOGFILE CMD...: start CMD detached (own session, immune to the caller's
# terminal/job control) with stdio to LOGFILE; the pid file holds CMD's own pid
# because the wrapper shell writes $$ and then execs CMD.
spawn() {
  local name=$1 logfile=$2; shift 2
  # shellcheck disable=SC2016  # $$ and "$@" are meant for the inner shell
  # 9>&-: the server must not inherit (and so keep holding) the lock_engine lock.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$RUN_DIR/$name.pid" "$@" \
    </dev/null >>"$logfile" 2>&1 9>&- &
  # Wait briefly for the pid file so callers can rely on it.
  for _ in $(seq 50); do [[ -s "$RUN_DIR/$name.pid" ]] && return 0; sleep 0.1; done
  die "could not start $name (no pid file)"
}

# stop_pid NAME MATCH: SIGTERM, wait up to 30 s, then SIGKILL. Idempotent.
stop_pid() {
  local name=$1 match=$2 pid
  if ! pid=$(pid_of "$name" "$match"); then
    rm -f "$RUN_DIR/$name.pid"; log "$name not running"; return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not exit within 30 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$RUN_DIR/$name.pid"
  log "$name stopped"
  return 0
}

# fail_with_log MSG LOGFILE...: report a startup failure with the end of each log.
fail_with_log() {
  local msg=$1 f; shift
  log "ERROR: $msg"
  for f in "$@"; do
    [[ -s $f ]] || continue
    log "last 30 lines of $f:"
    tail -n 30 "$f" >&2
  done
  exit 1
}

# rotate_log FILE: keep append-only logs bounded (one previous generation, 50 MB).
rotate_log() {
  [[ -f $1 ]] && (($(stat -c %s "$1") > 50 * 1024 * 1024)) && mv -f "$1" "$1.1"
  return 0
}
