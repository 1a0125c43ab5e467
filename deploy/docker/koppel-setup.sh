#!/bin/sh
# The one-shot setup job of the compose stack and the Kubernetes Job: create or reconcile
# Koppel's Kafka topics, then apply the matcher's and the notifier's database migrations.
# Every step is idempotent, so it runs at every deploy. KOPPEL_TOPIC_REPLICATION_FACTOR
# (default 1) sets the replication factor of topics it creates.
set -eu

python -m koppel.topics --replication-factor "${KOPPEL_TOPIC_REPLICATION_FACTOR:-1}"
koppel-matcher migrate
koppel-notifier migrate
