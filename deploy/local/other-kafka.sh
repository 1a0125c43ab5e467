#!/usr/bin/env bash
# Run a command against a broker of the other supported Kafka line: 4.x when the local stack
# runs 3.9 (KOPPEL_KAFKA_VERSION unset or 3.9.x), 3.9 when it runs 4.x. The broker is one of
# its own, on free ports, with its state under .local/other-kafka/; it is stopped and deleted
# afterwards, whatever the command did. The shared broker on 9092 is never touched.
#
#   deploy/local/other-kafka.sh uv run pytest tests/integration/matcher
#
# The command sees that broker's KAFKA_BOOTSTRAP_SERVERS and KOPPEL_KAFKA_VERSION, so the
# brokers it starts itself (bench/chaos.py, the SASL_SSL test) run the same version.
# Exits with the command's status.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)

[[ $# -ge 1 ]] || { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

version=$(bash "$SCRIPT_DIR/kafka.sh" other-version)
read -r port controller_port < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))
')
base="$ROOT/.local/other-kafka/$port"
export KOPPEL_KAFKA_VERSION=$version
# for kafka.sh only: the command's own brokers (fault tests) choose their ports themselves
broker=(KOPPEL_KAFKA_PORT="$port" KOPPEL_KAFKA_CONTROLLER_PORT="$controller_port"
    KOPPEL_KAFKA_DIR="$base/kafka" KOPPEL_KAFKA_LOG_DIR="$base/logs")

cleanup() {
    env "${broker[@]}" bash "$SCRIPT_DIR/kafka.sh" stop --purge || true
    rm -rf "$base"
}
trap cleanup EXIT

env "${broker[@]}" bash "$SCRIPT_DIR/kafka.sh" start
export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$port"
printf '[other-kafka] Kafka %s on %s: %s\n' "$version" "$KAFKA_BOOTSTRAP_SERVERS" "$*" >&2
rc=0
"$@" || rc=$?
exit "$rc"
