#!/usr/bin/env bash
# Start a single-node KRaft Kafka (broker+controller) on 127.0.0.1, from jars fetched
# off Maven Central (no tarball download is possible here). Idempotent.
#
# Env: KAFKA_PORT (9092) KAFKA_CONTROLLER_PORT (9093) KAFKA_VERSION (pom default)
#      CONFIDANT_DATA_DIR (.data: another dir runs a private instance, see lib/common.sh)
#      KAFKA_HEAP_OPTS ("-Xms256m -Xmx512m") KAFKA_START_TIMEOUT (90 seconds)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMPONENT=kafka
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$HERE/../lib/common.sh"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
LIBS="$CACHE_DIR/kafka-libs"
STATE="$DATA/kafka"
PROPS="$STATE/server.properties"
LOGFILE="$LOG_DIR/kafka.log"
# Fixed id (base64url of the 16 bytes "ConfidantKafka01"): deterministic, no JVM call.
CLUSTER_ID="Q29uZmlkYW50S2Fma2EwMQ"
MATCH="kafka.Kafka $PROPS"   # unique to this checkout (see pid_of)

lock_engine kafka
# Fresh machines: install what is missing (root only); otherwise say how to.
if ! command -v java >/dev/null 2>&1; then
  [[ $(id -u) -eq 0 ]] || die "'java' not found. Fix: apt-get install -y openjdk-17-jre-headless"
  apt_install openjdk-17-jre-headless
fi
need java "apt-get install -y openjdk-17-jre-headless"

# ---- already running? -------------------------------------------------------
if pid=$(pid_of kafka "$MATCH") && port_open "$KAFKA_PORT"; then
  log "already running (pid $pid, port $KAFKA_PORT)"
  exit 0
fi
if [[ -z ${pid:-} ]] && port_open "$KAFKA_PORT"; then
  die "port $KAFKA_PORT is taken by another process (not ours). Stop it or set KAFKA_PORT."
fi

# ---- jars (cached) ----------------------------------------------------------
# The marker pins version + pom contents, so editing the pom or KAFKA_VERSION refetches.
version="${KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")}"
want="$version $(sha256sum "$HERE/pom.xml" | cut -c1-16)"
if [[ "$(cat "$LIBS/.complete" 2>/dev/null)" != "$want" ]]; then
  if ! command -v mvn >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || die "'mvn' not found. Fix: apt-get install -y maven"
    apt_install maven
  fi
  need mvn "apt-get install -y maven"
  log "fetching Kafka $version jars from Maven Central (first run only)..."
  rm -rf "$LIBS.tmp"
  # -f pom.xml: the pom lives next to this script; output to a temp dir then rename,
  # so an interrupted download never looks complete.
  mvn -q -B -f "$HERE/pom.xml" -Dkafka.version="$version" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" \
    >"$LOG_DIR/kafka-fetch.log" 2>&1 \
    || fail_with_log "mvn could not fetch kafka_2.13:$version (Maven Central reachable? version exists?)" "$LOG_DIR/kafka-fetch.log"
  [[ -f "$LIBS.tmp/kafka_2.13-$version.jar" ]] || die "kafka_2.13-$version.jar missing after fetch"
  rm -rf "$LIBS"; mv "$LIBS.tmp" "$LIBS"
  echo "$want" >"$LIBS/.complete"
fi

# ---- config + storage -------------------------------------------------------
mkdir -p "$STATE/data"
# Escape for the sed replacement (paths may contain & or |).
esc() { printf '%s' "$1" | sed 's/[&|\\]/\\&/g'; }
sed -e "s|@STATE@|$(esc "$STATE")|g" \
    -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    "$HERE/server.properties" >"$PROPS"

JAVA_OPTS=(
  -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$HERE/log4j2.properties"
)

if [[ ! -f "$STATE/data/meta.properties" ]]; then
  log "formatting storage (cluster id $CLUSTER_ID)"
  java -Xmx256m "${JAVA_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format \
    -t "$CLUSTER_ID" -c "$PROPS" --ignore-formatted >>"$LOGFILE" 2>&1 \
    || fail_with_log "kafka storage format failed" "$LOGFILE"
fi

# ---- launch -----------------------------------------------------------------
log_offset=0   # only this run's log lines count as "started"
if [[ -z ${pid:-} ]]; then
  port_open "$KAFKA_CONTROLLER_PORT" && die "controller port $KAFKA_CONTROLLER_PORT is in use. Set KAFKA_CONTROLLER_PORT."
  log "starting Kafka $version on 127.0.0.1:$KAFKA_PORT (log: $LOGFILE)"
  rotate_log "$LOGFILE"
  echo "---- $(date -Is) start Kafka $version" >>"$LOGFILE"
  log_offset=$(stat -c %s "$LOGFILE")
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM flags
  spawn kafka "$LOGFILE" java $KAFKA_HEAP_OPTS "${JAVA_OPTS[@]}" -cp "$LIBS/*" kafka.Kafka "$PROPS"
fi

# ---- wait until ready -------------------------------------------------------
# Ready = the broker answers an ApiVersions round trip (real protocol check, not just
# an open socket). The probe is a JVM start (~1 s), so first wait for the log line.
start=$SECONDS
ready=0
while ((SECONDS - start < TIMEOUT)); do
  # Asked twice: while the spawned shell execs java, its command line can read empty for an instant.
  pid_of kafka "$MATCH" >/dev/null || { sleep 1; pid_of kafka "$MATCH" >/dev/null; } || fail_with_log "Kafka exited during startup" "$LOGFILE"
  if port_open "$KAFKA_PORT" && tail -c +"$((log_offset + 1))" "$LOGFILE" | grep -q "Kafka Server started"; then
    if java -Xmx64m -Xshare:auto -XX:TieredStopAtLevel=1 "-Dlog4j2.configurationFile=$HERE/log4j2.properties" \
        -cp "$LIBS/*" org.apache.kafka.tools.BrokerApiVersionsCommand \
        --bootstrap-server "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1; then
      ready=1; break
    fi
  fi
  sleep 0.5
done
((ready)) || fail_with_log "Kafka not ready on port $KAFKA_PORT after ${TIMEOUT}s (if it runs with other ports, infra/down kafka first)" "$LOGFILE"
log "ready in $((SECONDS - start)) s (pid $(cat "$RUN_DIR/kafka.pid"), 127.0.0.1:$KAFKA_PORT, Kafka $version)"
