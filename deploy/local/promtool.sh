#!/usr/bin/env bash
# Debian's promtool (package 'prometheus') for the alerting rules' tests
# (tests/unit/deploy/test_monitoring.py): `promtool check rules` and `promtool test rules`
# on deploy/k8s/components/monitoring.
#
#   deploy/local/promtool.sh   # idempotent: installs the Debian package 'prometheus' when
#                              # /usr/bin/promtool is missing; prints its version
#
# Only promtool is used; the package's Prometheus server is not started here. .ci/run calls
# this on every fresh machine. Installing needs root (apt-get); without it the script says
# what to install. Progress goes to stderr.
set -euo pipefail

PROMTOOL=/usr/bin/promtool

# shellcheck source=deploy/local/debian-package.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/debian-package.sh"
ensure_debian_package prometheus "$PROMTOOL"
"$PROMTOOL" --version 2>&1 | head -n 1 >&2
