#!/usr/bin/env bash
# `make run`: bring up Kafka, PostgreSQL, the mail sink, the webhook receiver and the three
# services, load the demo data and print what Koppel did with it.
#   deploy/local/run.sh [--once] [loader options, e.g. --consultants 500 --seed 7]
# The stack stays up afterwards so the inbox (http://127.0.0.1:8025) can be browsed; stop it
# with `make down`. With --once or KOPPEL_RUN_EXIT=1 everything is stopped at the end
# (unattended runs, CI). Ctrl-C at any point stops everything cleanly.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
cd "$ROOT"

once=${KOPPEL_RUN_EXIT:-0}
loader_args=()
for arg in "$@"; do
    if [[ $arg == --once ]]; then once=1; else loader_args+=("$arg"); fi
done

log() { printf '[run] %s\n' "$*" >&2; }

teardown() {
    log "stopping the services and the infrastructure"
    bash "$SCRIPT_DIR/services.sh" stop || true
    bash "$SCRIPT_DIR/down.sh" || true
}

# shellcheck disable=SC2317 # reached through the trap below
on_signal() {
    trap - INT TERM
    log "interrupted"
    teardown
    exit 130
}
trap on_signal INT TERM

eval "$(bash "$SCRIPT_DIR/up.sh")"
export KAFKA_BOOTSTRAP_SERVERS DATABASE_URL
export INTAKE_API_TOKENS=${INTAKE_API_TOKENS:-demo:demo-token}

if ! bash "$SCRIPT_DIR/services.sh" start; then
    log "the services did not come up; logs are in .local/logs/"
    [[ $once == 1 ]] && teardown
    exit 1
fi

rc=0
uv run --no-sync python -m koppel_demo.load "${loader_args[@]}" || rc=$?

if [[ $once == 1 ]]; then
    teardown
else
    cat >&2 <<EOF

The stack keeps running so you can look around:
  inbox     http://127.0.0.1:8025   (files: .local/mail/*.eml)
  webhooks  .local/webhooks/webhooks.jsonl
  intake    http://127.0.0.1:8000/docs   (bearer token: the first pair of INTAKE_API_TOKENS)
  logs      .local/logs/{intake,matcher,notifier,mail-sink,webhook-receiver}.log
Stop it with:  make down   (or: deploy/local/services.sh stop && deploy/local/down.sh)
EOF
fi
exit "$rc"
