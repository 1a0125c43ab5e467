#!/usr/bin/env bash
# Installs a Debian package when a file it provides is missing (idempotent).
#
#   deploy/local/debian-package.sh PACKAGE FILE
#
# Sourced by chromium.sh and faketime.sh, which name the package the tests need. Installing
# needs root (apt-get); without it the script says what to install. Progress goes to stderr.
set -euo pipefail

ensure_debian_package() { # package file
    local package=$1 file=$2
    if [[ -e $file ]]; then
        printf '[%s] %s present\n' "$package" "$file" >&2
        return 0
    fi
    if [[ $EUID -ne 0 ]]; then
        printf '[%s] ERROR: %s not found; install the Debian package %s (apt-get install %s)\n' \
            "$package" "$file" "$package" "$package" >&2
        return 1
    fi
    printf '[%s] %s not found; installing it with apt-get\n' "$package" "$file" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >&2
    if [[ ! -e $file ]]; then
        printf '[%s] ERROR: %s installed but %s is missing\n' "$package" "$package" "$file" >&2
        return 1
    fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    [[ $# -eq 2 ]] || { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
    ensure_debian_package "$1" "$2"
fi
