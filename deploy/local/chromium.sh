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

# shellcheck source=deploy/local/debian-package.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/debian-package.sh"
ensure_debian_package chromium "$CHROMIUM"
"$CHROMIUM" --version >&2 2>/dev/null || true
