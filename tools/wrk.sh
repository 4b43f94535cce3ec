#!/usr/bin/env bash
# wrk.sh: print the path of wrk (the HTTP load driver `cargo bench --bench emulator -- --floor`
# uses), installing Debian's package first when it is missing and apt-get can (as root).
# Exit 1 with a message when wrk cannot be had.
set -euo pipefail
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get install -y -q wrk >&2 || { apt-get update -q >&2 && apt-get install -y -q wrk >&2; }
    fi
fi
command -v wrk || { echo "wrk is not installed and cannot be installed here (apt-get install wrk)" >&2; exit 1; }
