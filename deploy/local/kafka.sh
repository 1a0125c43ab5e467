#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker+controller) without Docker:
# 3.9.1 by default, or the version KOPPEL_KAFKA_VERSION names (3.9.x or 4.x).
#
#   deploy/local/kafka.sh start            # idempotent; reuses a broker already on 127.0.0.1:9092
#   deploy/local/kafka.sh stop [--purge]   # --purge also deletes the topic data
#   deploy/local/kafka.sh status
#   deploy/local/kafka.sh run CLASS [ARGS...]   # run a Kafka tool class, e.g.
#       deploy/local/kafka.sh run org.apache.kafka.tools.ProducerPerformance --help
#   deploy/local/kafka.sh other-version   # the supported version of the other line (CI smoke)
#
# Jars come from Maven Central through deploy/local/pom.xml into .local/kafka/<version>/libs
# (downloaded once per version, reused afterwards). Everything else lives in .local/ too:
#   .local/kafka/<version>/{server.properties,log4j*.properties,cluster.id,kafka.pid,data/}
#   .local/logs/kafka-<version>.log (broker log), .local/logs/kafka-<version>.out (stdout/stderr)
# Each version has its own directory, so switching versions keeps both installs and data.
# A broker of another version already answering on the port is reported, never reused.
# A second, isolated broker (e.g. for fault tests that restart it) takes these overrides:
#   KOPPEL_KAFKA_PORT (9092), KOPPEL_KAFKA_CONTROLLER_PORT (9093),
#   KOPPEL_KAFKA_DIR (.local/kafka/<version>: config, data, pid; the jars stay where they are),
#   KOPPEL_KAFKA_LOG_DIR (.local/logs)
# Progress messages go to stderr.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
POM="$SCRIPT_DIR/pom.xml"
LOCAL="$ROOT/.local"
# The supported versions, one per line (3.9 and 4.x); the first is the default.
SUPPORTED_VERSIONS=(3.9.1 4.4.0)
DEFAULT_VERSION=${SUPPORTED_VERSIONS[0]}
VERSION=${KOPPEL_KAFKA_VERSION:-$DEFAULT_VERSION}
LINE=${VERSION%%.*}
KDIR=${KOPPEL_KAFKA_DIR:-"$LOCAL/kafka/$VERSION"}
LIBS="$LOCAL/kafka/$VERSION/libs"
DATA="$KDIR/data"
LOGS=${KOPPEL_KAFKA_LOG_DIR:-"$LOCAL/logs"}
BROKER_LOG="$LOGS/kafka-$VERSION.log"
BROKER_OUT="$LOGS/kafka-$VERSION.out"
PIDFILE="$KDIR/kafka.pid"
CONF="$KDIR/server.properties"
# Kafka 3 logs through reload4j (log4j 1.2 syntax), Kafka 4 through Log4j 2
LOG4J="$KDIR/log4j$([[ $LINE == 3 ]] || echo 2).properties"
TOOLS_LOG4J="$KDIR/tools-log4j$([[ $LINE == 3 ]] || echo 2).properties"
CLUSTER_ID_FILE="$KDIR/cluster.id"
STAMP="$LIBS/.complete"

HOST=127.0.0.1
PORT=${KOPPEL_KAFKA_PORT:-9092}
CONTROLLER_PORT=${KOPPEL_KAFKA_CONTROLLER_PORT:-9093}
BOOTSTRAP="$HOST:$PORT"
READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-90}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-60}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}

log() { printf '[kafka] %s\n' "$*" >&2; }
die() { printf '[kafka] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $PORT =~ ^[0-9]+$ && $CONTROLLER_PORT =~ ^[0-9]+$ ]] ||
    die "KOPPEL_KAFKA_PORT and KOPPEL_KAFKA_CONTROLLER_PORT must be port numbers"
[[ $PORT != "$CONTROLLER_PORT" ]] || die "the broker and controller ports must differ ($PORT)"
[[ $VERSION =~ ^(3\.9|4\.[0-9]+)\.[0-9]+$ ]] ||
    die "KOPPEL_KAFKA_VERSION must be a 3.9.x or 4.x release such as 3.9.1 or 4.4.0 (got '$VERSION')"

port_open() { # host port
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# pid of our broker if the pid file names a live kafka.Kafka process, else nothing
our_pid() {
    local pid
    [[ -f $PIDFILE ]] || return 1
    pid=$(<"$PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
    printf '%s\n' "$pid"
}

# pid of the process listening on $PORT, when `ss` can tell
port_owner_pid() {
    local pid
    command -v ss >/dev/null 2>&1 || return 1
    pid=$(ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1) || return 1
    [[ -n $pid ]] || return 1
    printf '%s\n' "${pid#pid=}"
}

# Kafka version of the kafka.Kafka process listening on $PORT, read from the kafka_2.13
# jar on its class path (a `dir/*` entry or the jar itself); fails when that cannot be told.
port_owner_version() {
    local pid argv entry jar
    local -a classpath jars
    pid=$(port_owner_pid) || return 1
    argv=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    grep -qx 'kafka\.Kafka' <<<"$argv" || return 1
    IFS=':' read -r -a classpath < <(grep -A1 -x -- '-cp' <<<"$argv" | tail -n1)
    for entry in "${classpath[@]}"; do
        if [[ $entry == */\* ]]; then
            mapfile -t jars < <(compgen -G "${entry%\*}kafka_2.13-*.jar")
        else
            jars=("$entry")
        fi
        for jar in "${jars[@]}"; do
            jar=${jar##*/}
            if [[ $jar =~ ^kafka_2\.13-([0-9]+\.[0-9]+\.[0-9]+)\.jar$ ]]; then
                printf '%s\n' "${BASH_REMATCH[1]}"
                return 0
            fi
        done
    done
    return 1
}

# Refuses a broker of another Kafka version on $PORT: tests against it would prove nothing
# about the version asked for.
require_same_version_on_port() {
    local running
    running=$(port_owner_version) || return 0
    [[ $running == "$VERSION" ]] && return 0
    die "Kafka $running already runs on $BOOTSTRAP, not the $VERSION asked for (KOPPEL_KAFKA_VERSION); stop it (KOPPEL_KAFKA_VERSION=$running $0 stop) or choose another KOPPEL_KAFKA_PORT"
}

ensure_cmd() { # command debian-package
    command -v "$1" >/dev/null 2>&1 && return 0
    [[ $EUID -eq 0 ]] || die "'$1' is missing; install the Debian package '$2'"
    log "installing $2 (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "$2" >&2
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

libs_complete() {
    [[ -f $STAMP ]] && [[ $(<"$STAMP") == "$(pom_hash)" ]] &&
        [[ -f $LIBS/kafka_2.13-$VERSION.jar ]]
}

ensure_libs() {
    if libs_complete; then
        return 0
    fi
    ensure_cmd mvn maven
    log "resolving Kafka $VERSION jars with Maven into ${LIBS#"$ROOT"/} (first run only)"
    rm -rf "$LIBS"
    mkdir -p "$LIBS"
    local out
    out=$(mktemp)
    if ! mvn -B -Dstyle.color=never -f "$POM" package -Dkafka.version="$VERSION" \
        -Dkafka.line="$LINE" -Dkafka.libs.dir="$LIBS" >"$out" 2>&1; then
        tail -n 40 "$out" >&2
        rm -f "$out"
        die "Maven could not resolve the Kafka jars (see output above)"
    fi
    rm -f "$out"
    [[ -f $LIBS/kafka_2.13-$VERSION.jar ]] || die "no kafka_2.13-$VERSION.jar in $LIBS after Maven"
    pom_hash >"$STAMP"
}

write_tools_log4j() {
    if [[ $LINE != 3 ]]; then
        cat >"$TOOLS_LOG4J" <<'EOF'
# Log4j 2 config for Kafka command-line tools: warnings only, to stderr
status = warn
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = stderr
EOF
        return 0
    fi
    cat >"$TOOLS_LOG4J" <<'EOF'
# log4j (reload4j) config for Kafka command-line tools: warnings only, to stderr
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

write_config() {
    mkdir -p "$KDIR" "$DATA" "$LOGS"
    cat >"$CONF" <<EOF
# Generated by deploy/local/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=104857600
num.network.threads=3
num.io.threads=4
EOF
    write_broker_log4j
    write_tools_log4j
}

write_broker_log4j() {
    if [[ $LINE != 3 ]]; then
        cat >"$LOG4J" <<EOF
# Generated by deploy/local/kafka.sh (Log4j 2 properties syntax)
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $BROKER_LOG
appender.file.filePattern = $BROKER_LOG.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
EOF
        return 0
    fi
    cat >"$LOG4J" <<EOF
# Generated by deploy/local/kafka.sh (reload4j / log4j 1.2 syntax)
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$BROKER_LOG
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
}

# the JVM flag naming a Log4j config file for this version's logging backend
log4j_flag() { # file
    if [[ $LINE == 3 ]]; then
        printf -- '-Dlog4j.configuration=file:%s\n' "$1"
    else
        printf -- '-Dlog4j2.configurationFile=%s\n' "$1"
    fi
}

# TOOL_CMD=(java ... -cp libs/*): a JVM for Kafka tool classes with quiet logging.
# QUICK=1 tunes it for a short-lived helper (fast start-up, no optimising JIT)
# rather than for throughput (KAFKA_TOOL_OPTS, default -Xmx512m).
TOOL_CMD=()
tool_cmd() {
    [[ -f $TOOLS_LOG4J ]] || { mkdir -p "$KDIR"; write_tools_log4j; }
    local -a opts
    if [[ ${QUICK:-0} == 1 ]]; then
        opts=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1)
    else
        read -r -a opts <<<"${KAFKA_TOOL_OPTS:--Xmx512m}"
    fi
    TOOL_CMD=(java "${opts[@]}" "$(log4j_flag "$TOOLS_LOG4J")" -cp "$LIBS/*")
}

run_tool() {
    tool_cmd
    "${TOOL_CMD[@]}" "$@"
}

format_storage() {
    if [[ -f $DATA/meta.properties ]]; then
        return 0
    fi
    local cid
    if [[ -s $CLUSTER_ID_FILE ]]; then
        cid=$(<"$CLUSTER_ID_FILE")
    else
        cid=$(QUICK=1 run_tool kafka.tools.StorageTool random-uuid | tail -n1 | tr -d '[:space:]')
        [[ -n $cid ]] || die "StorageTool random-uuid printed no cluster id"
        printf '%s\n' "$cid" >"$CLUSTER_ID_FILE"
    fi
    log "formatting KRaft storage in ${DATA#"$ROOT"/} (cluster id $cid)"
    QUICK=1 run_tool kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$CONF" >&2 ||
        die "StorageTool format failed"
}

metadata_ok() {
    QUICK=1 tool_cmd
    timeout 30 "${TOOL_CMD[@]}" org.apache.kafka.tools.ClusterTool cluster-id \
        --bootstrap-server "$BOOTSTRAP" >/dev/null 2>&1
}

show_log_tail() {
    local f
    for f in "$BROKER_OUT" "$BROKER_LOG"; do
        [[ -s $f ]] || continue
        printf -- '----- last lines of %s -----\n' "$f" >&2
        tail -n 40 "$f" >&2
    done
}

wait_ready() { # pid
    local pid=$1 deadline=$((SECONDS + READY_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log_tail
            rm -f "$PIDFILE"
            die "broker process $pid exited during startup"
        fi
        if port_open "$HOST" "$PORT" && metadata_ok; then
            return 0
        fi
        sleep 1
    done
    show_log_tail
    die "broker (pid $pid) not ready on $BOOTSTRAP after ${READY_TIMEOUT}s; it is left running, stop it with: $0 stop"
}

cmd_start() {
    local pid t0=$SECONDS
    # serialise concurrent starts (fd 9 is closed for the broker itself below)
    mkdir -p "$KDIR"
    exec 9>"$KDIR/.start.lock"
    flock -w 300 9 || die "another 'kafka.sh start' holds $KDIR/.start.lock"
    if pid=$(our_pid); then
        if port_open "$HOST" "$PORT"; then
            require_same_version_on_port
            log "Kafka $VERSION already running (pid $pid) on $BOOTSTRAP; reusing it"
            return 0
        fi
        log "our broker (pid $pid) is starting; waiting for it"
        ensure_libs
        wait_ready "$pid"
        log "ready on $BOOTSTRAP"
        return 0
    fi
    rm -f "$PIDFILE"
    if port_open "$HOST" "$PORT"; then
        require_same_version_on_port
        log "something already answers on $BOOTSTRAP (not started by this script from ${KDIR#"$ROOT"/}); reusing it"
        return 0
    fi
    if port_open "$HOST" "$CONTROLLER_PORT"; then
        die "$HOST:$CONTROLLER_PORT (KRaft controller port) is taken by another process; free it first"
    fi
    ensure_cmd java openjdk-17-jre-headless
    ensure_libs
    write_config
    format_storage

    local -a heap jvm
    read -r -a heap <<<"$KAFKA_HEAP_OPTS"
    jvm=(-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
        -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
        "$(log4j_flag "$LOG4J")" "-Dkafka.logs.dir=$LOGS")
    log "starting Kafka $VERSION (logs: ${BROKER_LOG#"$ROOT"/}, ${BROKER_OUT#"$ROOT"/})"
    printf '\n===== %s start =====\n' "$(date -Is)" >>"$BROKER_OUT"
    # setsid: own session, so the broker survives the caller's terminal/process group.
    # The inner shell writes its own pid and then execs java, so the pid file names java.
    # shellcheck disable=SC2016
    setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-launcher "$PIDFILE" \
        java "${heap[@]}" "${jvm[@]}" -cp "$LIBS/*" kafka.Kafka "$CONF" \
        >>"$BROKER_OUT" 2>&1 </dev/null 9>&- &
    local i
    for i in $(seq 50); do
        [[ -s $PIDFILE ]] && break
        sleep 0.1
    done
    [[ -s $PIDFILE ]] || die "broker launcher wrote no pid file (attempts: $i)"
    pid=$(<"$PIDFILE")
    wait_ready "$pid"
    log "Kafka $VERSION ready on $BOOTSTRAP (pid $pid, $((SECONDS - t0))s)"
}

cmd_stop() {
    local purge=0 pid
    for a in "$@"; do
        case $a in
            --purge) purge=1 ;;
            *) die "unknown option for stop: $a" ;;
        esac
    done
    if pid=$(our_pid); then
        log "stopping broker (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + STOP_TIMEOUT))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "broker did not stop within ${STOP_TIMEOUT}s; sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
        fi
        log "stopped"
    else
        log "not running (no live pid file)"
    fi
    rm -f "$PIDFILE"
    if ((purge)); then
        log "purging ${DATA#"$ROOT"/} and the cluster id"
        rm -rf "$DATA" "$CLUSTER_ID_FILE"
    fi
}

cmd_status() {
    local pid
    if pid=$(our_pid); then
        local owner
        if owner=$(port_owner_pid) && [[ $owner != "$pid" ]]; then
            echo "kafka: $VERSION running (pid $pid), but $BOOTSTRAP is answered by another process (pid $owner)"
        elif port_open "$HOST" "$PORT"; then
            echo "kafka: $VERSION running (pid $pid) on $BOOTSTRAP"
        else
            echo "kafka: process $pid alive but $BOOTSTRAP not answering (starting or stopping)"
        fi
        return 0
    fi
    if port_open "$HOST" "$PORT"; then
        local running
        running=$(port_owner_version) || running="a broker of unknown version"
        echo "kafka: $BOOTSTRAP answers ($running), but not a broker started by this script from ${KDIR#"$ROOT"/}"
        return 0
    fi
    echo "kafka: stopped"
    return 3
}

usage() {
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
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
        run)
            [[ $# -ge 1 ]] || usage
            ensure_libs
            tool_cmd
            exec "${TOOL_CMD[@]}" "$@"
            ;;
        other-version)
            local candidate
            for candidate in "${SUPPORTED_VERSIONS[@]}"; do
                if [[ ${candidate%%.*} != "$LINE" ]]; then
                    printf '%s\n' "$candidate"
                    return 0
                fi
            done
            die "no supported version besides the $LINE.x line"
            ;;
        -h | --help | help) usage ;;
        *) usage ;;
    esac
}

# Sourcing the script (tests do) defines its settings and functions without running it.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
