#!/usr/bin/env bash
# Stop the local Kafka and PostgreSQL started by deploy/local/up.sh; services
# not started by these scripts (no pid file / cluster of ours) are left alone.
#   deploy/local/down.sh            # keep data
#   deploy/local/down.sh --purge    # also delete Kafka topics and the database cluster
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)

rc=0
bash "$SCRIPT_DIR/kafka.sh" stop "$@" || rc=1
bash "$SCRIPT_DIR/postgres.sh" stop "$@" || rc=1
exit "$rc"
