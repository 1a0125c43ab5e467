#!/usr/bin/env bash
# `make run`: bring up Kafka, PostgreSQL, the mail sink, the webhook receiver and the three
# services, load the demo data and print what Koppel did with it.
#   deploy/local/run.sh [--once] [loader options, e.g. --seed 7 --assignment-rate 0]
# Kafka and PostgreSQL are reused when they already answer (up.sh); the services always run
# on a database of this checkout's own (koppel_demo_<hash>, emptied at every run) with
# consumer groups of this run (koppel_demo.sandbox), so an earlier run or other users of a
# shared PostgreSQL never show up in the summary. Services of an earlier `make run` of this
# checkout are restarted; the inbox and webhook log are emptied. The stack stays up
# afterwards so the inbox (http://127.0.0.1:8025) can be browsed. With --once or
# KOPPEL_RUN_EXIT=1 it is stopped at the end (unattended runs, CI); Ctrl-C at any point
# stops it cleanly. Either way, a Kafka or PostgreSQL that was running before is left alone.
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

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Kafka and PostgreSQL that already answered before this run (another checkout's, or shared
# with tests) are reused and never stopped by it; only what this run started is stopped.
started_kafka=1 started_postgres=1
port_open 9092 && started_kafka=0
port_open 5432 && started_postgres=0

teardown() {
    log "stopping the services"
    bash "$SCRIPT_DIR/services.sh" stop || true
    if ((started_kafka)); then bash "$SCRIPT_DIR/kafka.sh" stop || true; fi
    if ((started_postgres)); then bash "$SCRIPT_DIR/postgres.sh" stop || true; fi
    if ((!started_kafka || !started_postgres)); then
        log "Kafka/PostgreSQL were already running before this run; left running"
    fi
}

# shellcheck disable=SC2317 # reached through the trap below
on_signal() {
    trap - INT TERM
    log "interrupted"
    teardown
    exit 130
}
trap on_signal INT TERM

# A local run is development: the secrets nobody set get their development defaults.
# shellcheck source=deploy/local/development-defaults.sh
source "$SCRIPT_DIR/development-defaults.sh"
koppel_development_defaults "[run]"
koppel_development_secret_keys "[run]" "$ROOT"

eval "$(bash "$SCRIPT_DIR/up.sh")"
export KAFKA_BOOTSTRAP_SERVERS DATABASE_URL
# What a consultant sees as the sender of the demo's emails.
export SMTP_FROM=${SMTP_FROM:-Koppel <opdrachten@koppel.local>}

# Every run starts clean: services of an earlier `make run` of this checkout are restarted,
# and services answering on the demo's ports that this checkout did not start (another
# checkout's, say) are refused rather than silently used with their own database.
bash "$SCRIPT_DIR/services.sh" stop
for port in 8000 8001 8002 8025 8090 1025; do
    if port_open "$port"; then
        log "port $port is in use by a process this checkout did not start; stop it first" \
            "(e.g. 'make down' in the checkout that started it), then run again"
        exit 1
    fi
done

# A database of this checkout's own (emptied now) and consumer groups of this run only, so
# neither an earlier run nor other users of a shared Kafka/PostgreSQL end up in the summary.
uv sync --all-packages --quiet
sandbox_env=$(uv run --no-sync python -m koppel_demo.sandbox prepare --checkout "$ROOT")
eval "$sandbox_env"
log "demo database: ${DATABASE_URL##*/}; consumer groups: $MATCHER_GROUP_ID, $NOTIFIER_GROUP_ID"
# The inbox and the webhook log show this run only.
find .local/mail -maxdepth 1 -name '*.eml' -delete 2>/dev/null || true
rm -f .local/webhooks/webhooks.jsonl

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
    stop_hint="make down   (or: deploy/local/services.sh stop && deploy/local/down.sh)"
    if ((!started_kafka || !started_postgres)); then
        stop_hint="deploy/local/services.sh stop   (Kafka/PostgreSQL were running before; left alone)"
    fi
    cat >&2 <<EOF

The stack keeps running so you can look around:
  inbox     http://127.0.0.1:8025   (files: .local/mail/*.eml)
  webhooks  .local/webhooks/webhooks.jsonl
  intake    http://127.0.0.1:8000/docs   (bearer token: the first pair of INTAKE_API_TOKENS)
  matcher   http://127.0.0.1:8001/docs   (bearer token: the first pair of MATCHER_API_TOKENS)
  logs      .local/logs/{intake,matcher,notifier,mail-sink,webhook-receiver}.log
Stop it with:  $stop_hint
EOF
fi
exit "$rc"
