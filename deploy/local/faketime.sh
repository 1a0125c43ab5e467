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

log() { printf '[faketime] %s\n' "$*" >&2; }
die() { printf '[faketime] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ ! -f $LIBRARY ]]; then
    [[ $EUID -eq 0 ]] || die "$LIBRARY not found; install the Debian package 'libfaketime' (apt-get install libfaketime)"
    log "libfaketime not found; installing it with apt-get (libfaketime)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends libfaketime >&2
    [[ -f $LIBRARY ]] || die "libfaketime installed but $LIBRARY is missing"
fi
log "$LIBRARY present"
