#!/usr/bin/env bash
# Local PostgreSQL cluster for Koppel without Docker.
#
#   deploy/local/postgres.sh start            # idempotent; reuses a server already on 127.0.0.1:5432
#   deploy/local/postgres.sh stop [--purge]   # --purge also deletes the cluster
#   deploy/local/postgres.sh status
#
# Runs its own cluster (not Debian's "main" one): data in .local/postgres/data,
# listening on 127.0.0.1:5432 only, unix socket in .local/postgres/run, log in
# .local/logs/postgres.log. Creates role koppel (password koppel, CREATEDB, member of
# pg_signal_backend so it can drop its throwaway databases with FORCE) and
# the databases koppel and koppel_test, owned by it:
#   postgresql://koppel:koppel@127.0.0.1:5432/koppel
# PostgreSQL refuses to run as root, so as root the cluster belongs to the
# "postgres" system user. If that user cannot reach .local/ (e.g. the repository
# lives under a private home directory), the cluster goes to
# /var/tmp/koppel-postgres-<hash of repo path> and .local/postgres links to it.
# Installs Debian's postgresql package when initdb/pg_ctl are missing.
# A second, isolated cluster (e.g. for fault tests that restart it) takes these overrides:
#   KOPPEL_POSTGRES_PORT (5432)
#   KOPPEL_POSTGRES_DIR (.local/postgres: data/, run/, postgres.log; used as given, no link)
# Progress messages go to stderr.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
LOCAL="$ROOT/.local"
LOGS="$LOCAL/logs"
LINK="$LOCAL/postgres"

HOST=127.0.0.1
PORT=${KOPPEL_POSTGRES_PORT:-5432}
# Set: an isolated cluster lives in this directory, with its log and start lock inside.
CUSTOM_BASE=${KOPPEL_POSTGRES_DIR:-}
LOCK="$LOCAL/.postgres-start.lock"
if [[ -n $CUSTOM_BASE ]]; then
    LOCK="$CUSTOM_BASE/.start.lock"
fi
DB_USER=koppel
DB_PASSWORD=koppel
DATABASES=(koppel koppel_test)
URL="postgresql://$DB_USER:$DB_PASSWORD@$HOST:$PORT/koppel"
START_TIMEOUT=${POSTGRES_START_TIMEOUT:-60}

log() { printf '[postgres] %s\n' "$*" >&2; }
die() { printf '[postgres] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $PORT =~ ^[0-9]+$ ]] || die "KOPPEL_POSTGRES_PORT must be a port number"

port_open() { # host port
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# ---- binaries -------------------------------------------------------------

PGBIN=""
find_pgbin() {
    local d
    # Debian: /usr/lib/postgresql/<major>/bin; take the newest major that has a server
    PGBIN=$(for d in /usr/lib/postgresql/*/bin; do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then echo "$d"; fi
    done | sort -V | tail -n1)
    if [[ -z $PGBIN ]] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        PGBIN=$(dirname -- "$(readlink -f -- "$(command -v initdb)")")
    fi
    [[ -n $PGBIN ]]
}

JUST_INSTALLED=0
ensure_pgbin() {
    find_pgbin && return 0
    [[ $EUID -eq 0 ]] || die "PostgreSQL server binaries (initdb, pg_ctl) not found; install the Debian package 'postgresql'"
    log "PostgreSQL not found; installing it with apt-get (postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    JUST_INSTALLED=1
    find_pgbin || die "postgresql installed but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
}

# Debian's postinst creates and starts its own "main" cluster on 5432; when we
# have just installed the package ourselves, stop it and make it manual so our
# cluster can have the port.
quiet_debian_main_cluster() {
    ((JUST_INSTALLED)) || return 0
    command -v pg_lsclusters >/dev/null 2>&1 || return 0
    local ver name port status
    while read -r ver name port status _; do
        [[ $port == "$PORT" ]] || continue
        if [[ $status == online* ]]; then
            log "stopping Debian's default cluster $ver/$name (it took port $PORT) and setting it to manual start"
            pg_ctlcluster "$ver" "$name" stop >&2 || true
        fi
        if [[ -f /etc/postgresql/$ver/$name/start.conf ]]; then
            echo manual >"/etc/postgresql/$ver/$name/start.conf"
        fi
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
}

# ---- who runs the server, and where ----------------------------------------

AS=()
OWNER=$(id -un)
if [[ $EUID -eq 0 ]]; then
    OWNER=postgres
    AS=(runuser -u postgres --)
fi

# run a command as the cluster owner, from a directory it can always enter
as_owner() { (cd / && "${AS[@]}" "$@"); }

BASE="" DATA="" SOCKDIR="" PGLOG=""
choose_dirs() {
    mkdir -p "$LOCAL" "$LOGS"
    local hash fallback
    hash=$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
    fallback="/var/tmp/koppel-postgres-$hash"
    if [[ -n $CUSTOM_BASE ]]; then
        BASE=$CUSTOM_BASE
    elif [[ -L $LINK ]]; then
        BASE=$(readlink -f -- "$LINK")
    elif [[ -d $LINK ]]; then
        BASE=$LINK
    elif as_owner test -x "$LOCAL" && as_owner test -x "$LOGS" && ((${#LINK} < 80)); then
        BASE=$LINK
    else
        BASE=$fallback
        log "the '$OWNER' user cannot reach $LOCAL (or the path is too long for a socket); using $BASE (linked from .local/postgres)"
        mkdir -p "$BASE"
        ln -sfn "$BASE" "$LINK"
    fi
    DATA="$BASE/data"
    SOCKDIR="$BASE/run"
    if [[ $BASE == "$LINK" ]]; then
        PGLOG="$LOGS/postgres.log"
    elif [[ -n $CUSTOM_BASE ]]; then
        PGLOG="$BASE/postgres.log"
    else
        PGLOG="$BASE/postgres.log"
        ln -sfn "$PGLOG" "$LOGS/postgres.log"
    fi
    mkdir -p "$BASE" "$SOCKDIR"
    touch "$PGLOG"
    if [[ $EUID -eq 0 ]]; then
        chown "$OWNER:" "$BASE" "$SOCKDIR" "$PGLOG"
        if [[ -d $DATA ]]; then chown -R "$OWNER:" "$DATA"; fi
    fi
    chmod 700 "$BASE" "$SOCKDIR"
}

# ---- cluster ------------------------------------------------------------------

# BASE and DATA of a cluster that already exists (the override, else .local/postgres)
existing_dirs() {
    if [[ -n $CUSTOM_BASE ]]; then
        [[ -d $CUSTOM_BASE ]] || return 1
        BASE=$CUSTOM_BASE
    else
        [[ -e $LINK ]] || return 1
        BASE=$(readlink -f -- "$LINK")
    fi
    DATA="$BASE/data"
}

our_running() { # is our cluster's postmaster up?
    [[ -n $DATA && -f $DATA/postmaster.pid ]] || return 1
    as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

write_conf() {
    local conf="$DATA/koppel-local.conf"
    cat >"$conf" <<EOF
# Generated by deploy/local/postgres.sh on every start; edit the script, not this file.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$SOCKDIR'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 128MB
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
# throwaway development/test data: trade durability for speed
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    if [[ $EUID -eq 0 ]]; then chown "$OWNER:" "$conf"; fi
    chmod 600 "$conf"
}

init_cluster() {
    [[ -f $DATA/PG_VERSION ]] && return 0
    local -a locale=(--no-locale)
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        locale=(--locale=C.UTF-8)
    fi
    log "initialising a new cluster in $DATA"
    mkdir -p "$DATA"
    if [[ $EUID -eq 0 ]]; then chown "$OWNER:" "$DATA"; fi
    chmod 700 "$DATA"
    as_owner "$PGBIN/initdb" -D "$DATA" -U postgres -E UTF8 "${locale[@]}" \
        --auth-local=trust --auth-host=scram-sha-256 >>"$PGLOG" 2>&1 ||
        { tail -n 30 "$PGLOG" >&2; die "initdb failed"; }
    printf "\ninclude_if_exists = 'koppel-local.conf'\n" >>"$DATA/postgresql.conf"
}

psql_admin() {
    as_owner "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PORT" -U postgres -d postgres "$@"
}

ensure_role_and_dbs() {
    local db
    if [[ $(psql_admin -tAc "select 1 from pg_roles where rolname = '$DB_USER'") == 1 ]]; then
        psql_admin -c "alter role $DB_USER with login createdb password '$DB_PASSWORD'"
    else
        log "creating role $DB_USER"
        psql_admin -c "create role $DB_USER with login createdb password '$DB_PASSWORD'"
    fi
    # DROP DATABASE ... WITH (FORCE) (tests' and benchmarks' throwaway databases) must end
    # every session, autovacuum workers included, which takes pg_signal_backend.
    psql_admin -c "set client_min_messages = warning" -c "grant pg_signal_backend to $DB_USER"
    for db in "${DATABASES[@]}"; do
        if [[ $(psql_admin -tAc "select 1 from pg_database where datname = '$db'") != 1 ]]; then
            log "creating database $db"
            psql_admin -c "create database $db owner $DB_USER"
        fi
    done
}

check_url() {
    command -v psql >/dev/null 2>&1 || return 0
    if ! PGCONNECT_TIMEOUT=5 psql -X -q -d "$URL" -tAc 'select 1' >/dev/null 2>&1; then
        log "WARNING: the server on $HOST:$PORT does not accept $URL (role/database koppel missing there?)"
        return 1
    fi
}

cmd_start() {
    local t0=$SECONDS
    ensure_pgbin
    choose_dirs
    # serialise concurrent starts (fd 9 is closed for the server itself below)
    exec 9>"$LOCK"
    flock -w 300 9 || die "another 'postgres.sh start' holds $LOCK"
    if our_running; then
        ensure_role_and_dbs
        log "already running (data ${DATA}) on $HOST:$PORT; reusing it"
        return 0
    fi
    quiet_debian_main_cluster
    if port_open "$HOST" "$PORT"; then
        log "something already answers on $HOST:$PORT (not our cluster); reusing it"
        check_url || true
        return 0
    fi
    init_cluster
    write_conf
    printf '\n===== %s start =====\n' "$(date -Is)" >>"$PGLOG"
    log "starting cluster $DATA (log: $PGLOG)"
    if ! as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$PGLOG" -w -t "$START_TIMEOUT" start >/dev/null 9>&-; then
        tail -n 40 "$PGLOG" >&2
        die "pg_ctl start failed"
    fi
    ensure_role_and_dbs
    log "ready on $HOST:$PORT ($((SECONDS - t0))s): $URL"
}

cmd_stop() {
    local purge=0 a
    for a in "$@"; do
        case $a in
            --purge) purge=1 ;;
            *) die "unknown option for stop: $a" ;;
        esac
    done
    if ! find_pgbin; then
        log "PostgreSQL is not installed; nothing to stop"
        return 0
    fi
    # do not create anything on stop: only look at what exists
    existing_dirs || true
    if our_running; then
        log "stopping cluster $DATA"
        as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
        log "stopped"
    else
        log "not running (no live cluster in ${BASE:-.local/postgres})"
    fi
    if ((purge)) && [[ -n $BASE ]]; then
        log "purging $DATA"
        rm -rf "$DATA"
    fi
}

cmd_status() {
    if find_pgbin && existing_dirs; then
        if our_running; then
            echo "postgres: running (data $DATA) on $HOST:$PORT"
            return 0
        fi
    fi
    if port_open "$HOST" "$PORT"; then
        echo "postgres: $HOST:$PORT answers, but not a cluster started by this script"
        return 0
    fi
    echo "postgres: stopped"
    return 3
}

usage() {
    sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

main() {
    [[ $# -ge 1 ]] || usage
    local cmd=$1
    shift
    case $cmd in
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status "$@" ;;
        *) usage ;;
    esac
}

# Sourcing the script (tests do) defines its settings and functions without running it.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
