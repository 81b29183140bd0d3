#!/usr/bin/env bash
# Stop the local Kafka started by start.sh: SIGTERM (controlled shutdown), wait up to
# 30 s, then SIGKILL. Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMPONENT=kafka
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$HERE/../lib/common.sh"
lock_engine kafka
stop_pid kafka "kafka.Kafka $DATA/kafka/server.properties"
