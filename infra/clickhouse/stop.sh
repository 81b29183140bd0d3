#!/usr/bin/env bash
# Stop the local ClickHouse started by start.sh: SIGTERM, wait up to 30 s, then
# SIGKILL. Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMPONENT=clickhouse
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$HERE/../lib/common.sh"
lock_engine clickhouse
stop_pid clickhouse "--config-file=$DATA/clickhouse/etc/config.xml"
