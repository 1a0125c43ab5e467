#!/usr/bin/env bash
# Debian's libfaketime for the matcher's schedule tests
# (tests/integration/matcher/test_capacity_schedule.py), which move a real matcher
# process's clock forward through LD_PRELOAD instead of waiting for midnight.
#
#   deploy/local/faketime.sh   # idempotent: installs the Debian package 'libfaketime' when
#                              # the library is missing; prints its path
#
# .ci/run calls this on every fresh machine. Installing needs root (apt-get); without it
# the script says what to install. Progress goes to stderr.
set -euo pipefail

LIBRARY=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

# shellcheck source=deploy/local/debian-package.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/debian-package.sh"
ensure_debian_package libfaketime "$LIBRARY"
