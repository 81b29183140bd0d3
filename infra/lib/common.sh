# shellcheck shell=bash
# Helpers shared by infra/*/start.sh|stop.sh and infra/{up,down,status,reset}.
# Sourced, never executed. Callers must set ROOT (repo root) before sourcing.

: "${ROOT:?ROOT must be set before sourcing infra/lib/common.sh}"
DATA="$ROOT/.data"
RUN_DIR="$DATA/run"
LOG_DIR="$DATA/logs"
CACHE_DIR="$DATA/cache"
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

# apt_install PKG...: non-interactive install; 'apt-get update' at most once per run,
# and only when the package is unknown to the local cache (fresh machines have none).
APT_UPDATED=0
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "installing $* needs root: sudo apt-get install -y $*"
  local pkg
  for pkg in "$@"; do
    if [[ $APT_UPDATED -eq 0 ]] && ! apt-cache show "$pkg" >/dev/null 2>&1; then
      wait_for_dpkg_lock
      log "apt-get update"
      apt-get update -qq -o DPkg::Lock::Timeout=600 >&2 || die "apt-get update failed"
      APT_UPDATED=1
    fi
  done
  wait_for_dpkg_lock
  log "apt-get install $*"
  # -o DPkg::Lock::Timeout makes apt itself wait if someone grabbed the lock after our check.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

# port_open PORT: true if something accepts TCP on 127.0.0.1:PORT (bash builtin, no nc needed).
port_open() { timeout 1 bash -c ">/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# pid_of NAME: print pid from .data/run/NAME.pid if that process is alive and
# its command line still contains MATCH (guards against pid reuse).
pid_of() {
  local name=$1 match=$2 pidfile="$RUN_DIR/$1.pid" pid
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$match" || return 1
  echo "$pid"
}

# spawn NAME LOGFILE CMD...: start CMD detached (own session, immune to the caller's
# terminal/job control) with stdio to LOGFILE; the pid file holds CMD's own pid
# because the wrapper shell writes $$ and then execs CMD.
spawn() {
  local name=$1 logfile=$2; shift 2
  # shellcheck disable=SC2016  # $$ and "$@" are meant for the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$RUN_DIR/$name.pid" "$@" \
    </dev/null >>"$logfile" 2>&1 &
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
}

# fail_with_log MSG LOGFILE: report a startup failure with the end of the log.
fail_with_log() {
  log "ERROR: $1"
  if [[ -f $2 ]]; then
    log "last 40 lines of $2:"
    tail -n 40 "$2" >&2
  fi
  exit 1
}
