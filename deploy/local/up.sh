#!/usr/bin/env bash
# Start local Kafka and PostgreSQL without Docker (idempotent), then print the
# environment to use on stdout, so this works:
#   eval "$(deploy/local/up.sh)"
# Skips Kafka when KAFKA_BOOTSTRAP_SERVERS names another reachable broker, and
# PostgreSQL when DATABASE_URL is set and reachable. Progress goes to stderr.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)

DEFAULT_KAFKA=127.0.0.1:9092
DEFAULT_DB=postgresql://koppel:koppel@127.0.0.1:5432/koppel

log() { printf '[up] %s\n' "$*" >&2; }

port_open() { # host port
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# true when any host:port of a comma-separated bootstrap list accepts TCP
kafka_reachable() {
    local entry host port
    local -a entries
    IFS=',' read -r -a entries <<<"$1"
    for entry in "${entries[@]}"; do
        entry=${entry#*://}     # tolerate PLAINTEXT://host:port
        host=${entry%:*}
        port=${entry##*:}
        host=${host#[}
        host=${host%]}
        [[ -n $host && $port =~ ^[0-9]+$ ]] || continue
        if port_open "$host" "$port"; then return 0; fi
    done
    return 1
}

db_reachable() {
    if command -v pg_isready >/dev/null 2>&1; then
        PGCONNECT_TIMEOUT=3 pg_isready -q -d "$1" >/dev/null 2>&1
        return
    fi
    python3 - "$1" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
try:
    socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=3).close()
except OSError:
    sys.exit(1)
PY
}

t0=$SECONDS
kafka=${KAFKA_BOOTSTRAP_SERVERS:-}
if [[ -n $kafka && $kafka != "$DEFAULT_KAFKA" ]] && kafka_reachable "$kafka"; then
    log "KAFKA_BOOTSTRAP_SERVERS=$kafka is reachable; not starting a local broker"
else
    if [[ -n $kafka && $kafka != "$DEFAULT_KAFKA" ]]; then
        log "KAFKA_BOOTSTRAP_SERVERS=$kafka is not reachable; using a local broker instead"
    fi
    bash "$SCRIPT_DIR/kafka.sh" start
    kafka=$DEFAULT_KAFKA
fi

db=${DATABASE_URL:-}
if [[ -n $db ]] && db_reachable "$db"; then
    log "DATABASE_URL is set and reachable; not starting a local PostgreSQL"
else
    if [[ -n $db ]]; then
        log "DATABASE_URL is set but not reachable; using a local PostgreSQL instead"
    fi
    bash "$SCRIPT_DIR/postgres.sh" start
    db=$DEFAULT_DB
fi

log "up in $((SECONDS - t0))s; environment:"
printf 'export KAFKA_BOOTSTRAP_SERVERS=%q\n' "$kafka"
printf 'export DATABASE_URL=%q\n' "$db"
