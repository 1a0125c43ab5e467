#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/integration/notifier/test_page_in_browser.py).
#
#   deploy/local/chromium.sh   # idempotent: installs the Debian package 'chromium' when
#                              # /usr/bin/chromium is missing; prints its version
#
# Playwright drives this browser through `executable_path`; nothing is downloaded by
# `playwright install`. .ci/run calls this on every fresh machine. Installing needs root
# (apt-get); without it the script says what to install. Progress goes to stderr.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

log() { printf '[chromium] %s\n' "$*" >&2; }
die() { printf '[chromium] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ ! -x $CHROMIUM ]]; then
    [[ $EUID -eq 0 ]] || die "$CHROMIUM not found; install the Debian package 'chromium' (apt-get install chromium)"
    log "Chromium not found; installing it with apt-get (chromium)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium >&2
    [[ -x $CHROMIUM ]] || die "chromium installed but $CHROMIUM is missing"
fi
log "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM present")"
