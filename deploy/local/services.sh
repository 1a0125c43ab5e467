#!/usr/bin/env bash
# Run Koppel's three services plus the demo mail sink and webhook receiver as background
# processes on this machine (no Docker). Needs Kafka and PostgreSQL up (deploy/local/up.sh).
#   deploy/local/services.sh start    # idempotent: what already runs is reused
#   deploy/local/services.sh status
#   deploy/local/services.sh stop     # TERM, then KILL after SERVICES_STOP_TIMEOUT seconds
# Pid files: .local/run/<name>.pid; logs: .local/logs/<name>.log. Every variable of
# DOMAIN.md section 7 may be set beforehand; the defaults below suit a local demo, and the
# secrets' development defaults come from development-defaults.sh (printed when used).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
cd "$ROOT"

RUN_DIR=$ROOT/.local/run
LOG_DIR=$ROOT/.local/logs
# shellcheck source=deploy/local/development-defaults.sh
source "$SCRIPT_DIR/development-defaults.sh"

READY_TIMEOUT=${SERVICES_READY_TIMEOUT:-120}
STOP_TIMEOUT=${SERVICES_STOP_TIMEOUT:-20}

export KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}
export DATABASE_URL=${DATABASE_URL:-postgresql://koppel:koppel@127.0.0.1:5432/koppel}
export SMTP_HOST=${SMTP_HOST:-127.0.0.1}
export SMTP_PORT=${SMTP_PORT:-1025}
export SMTP_FROM=${SMTP_FROM:-koppel@localhost}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:8002}
# The demo's webhook receiver listens on 127.0.0.1: allow loopback, and nothing else.
export WEBHOOK_ALLOWED_NETWORKS=${WEBHOOK_ALLOWED_NETWORKS:-127.0.0.0/8,::1/128}
export LOG_JSON=${LOG_JSON:-true}
# Locally the services listen on loopback only.
export INTAKE_HOST=${INTAKE_HOST:-127.0.0.1}
export MATCHER_HOST=${MATCHER_HOST:-127.0.0.1}
export NOTIFIER_HOST=${NOTIFIER_HOST:-127.0.0.1}

# name | readiness URL | command (started in this order, stopped in reverse)
SERVICES=(
    "mail-sink|http://127.0.0.1:8025/healthz|python -m koppel_demo.mail_sink"
    "webhook-receiver|http://127.0.0.1:8090/healthz|python -m koppel_demo.webhook_receiver"
    "intake|http://127.0.0.1:8000/readyz|koppel-intake"
    "matcher|http://127.0.0.1:8001/readyz|koppel-matcher"
    "notifier|http://127.0.0.1:8002/readyz|koppel-notifier"
)

log() { printf '[services] %s\n' "$*" >&2; }

pid_of() { # name -> pid of a live process we started, else nothing
    local file=$RUN_DIR/$1.pid pid
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid"
        return 0
    fi
    rm -f "$file"
    return 1
}

ready() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

start_one() { # name url command...
    local name=$1 url=$2
    shift 2
    if pid=$(pid_of "$name"); then
        log "$name already running (pid $pid)"
        return 0
    fi
    if ready "$url"; then
        log "$name already answers on $url (not started by this script); reusing it"
        return 0
    fi
    log "starting $name: $*"
    # setsid: the service leads its own process group, so stop reaches uv's child too.
    nohup setsid uv run --no-sync "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$name.pid"
}

wait_ready() { # name url
    local name=$1 url=$2 deadline=$((SECONDS + READY_TIMEOUT))
    until ready "$url"; do
        if ! pid_of "$name" >/dev/null && [[ -f $LOG_DIR/$name.log ]]; then
            log "$name exited before it was ready; last lines of $LOG_DIR/$name.log:"
            tail -n 30 "$LOG_DIR/$name.log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "$name not ready on $url after ${READY_TIMEOUT}s; last lines of $LOG_DIR/$name.log:"
            tail -n 30 "$LOG_DIR/$name.log" >&2 || true
            return 1
        fi
        sleep 0.5
    done
    log "$name ready ($url)"
}

prepare() {
    log "syncing the Python environment"
    uv sync --all-packages --quiet
    log "creating/reconciling Kafka topics"
    uv run --no-sync python -m koppel.topics >&2
    log "applying database migrations"
    uv run --no-sync koppel-matcher migrate >&2
    uv run --no-sync koppel-notifier migrate >&2
}

start() {
    koppel_development_defaults "[services]"
    koppel_development_secret_keys "[services]" "$ROOT"
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    prepare
    local entry name url command
    for entry in "${SERVICES[@]}"; do
        IFS='|' read -r name url command <<<"$entry"
        # shellcheck disable=SC2086 # the command is a list of words on purpose
        start_one "$name" "$url" $command
    done
    for entry in "${SERVICES[@]}"; do
        IFS='|' read -r name url command <<<"$entry"
        wait_ready "$name" "$url"
    done
    log "all up: intake http://127.0.0.1:8000 (token: the first pair of INTAKE_API_TOKENS)," \
        "matcher http://127.0.0.1:8001 (token: the first pair of MATCHER_API_TOKENS)," \
        "inbox http://127.0.0.1:8025, webhooks .local/webhooks/webhooks.jsonl"
}

stop_one() { # name
    local name=$1 pid deadline
    pid=$(pid_of "$name") || return 0
    log "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            log "$name did not stop within ${STOP_TIMEOUT}s; killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$RUN_DIR/$name.pid"
}

stop() {
    local i entry name
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        IFS='|' read -r name _ <<<"${SERVICES[$i]}"
        stop_one "$name"
    done
}

status() {
    local entry name url command pid state rc=0
    for entry in "${SERVICES[@]}"; do
        IFS='|' read -r name url command <<<"$entry"
        if pid=$(pid_of "$name"); then state="running (pid $pid)"; else state="stopped"; rc=3; fi
        if ready "$url"; then state+=", ready"; else state+=", not answering"; fi
        printf '%-17s %s  %s\n' "$name" "$state" "$url"
    done
    return "$rc"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
