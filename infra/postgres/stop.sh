#!/usr/bin/env bash
# Stop the local PostgreSQL started by start.sh: SIGTERM (a "smart" shutdown would wait for
# clients; TERM is PostgreSQL's "fast" mode), wait up to 30 s, then SIGKILL. Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMPONENT=postgres
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$HERE/../lib/common.sh"
lock_engine postgres
stop_pid postgres "-D $DATA/postgres/data"
