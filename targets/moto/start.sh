#!/usr/bin/env bash
# start.sh PORT DIR: run moto_server in the foreground on 127.0.0.1:PORT.
# exec replaces this shell, so a SIGTERM to this script's pid stops the server.
# Auth is off by default (moto checks no signatures). To check SigV4 from the
# Nth request on, set INITIAL_NO_AUTH_ACTION_COUNT=N in the environment, or
# POST /moto-api/reset-auth with body N (Content-Type text/plain) at run time.
set -euo pipefail
port="${1:?usage: start.sh PORT DIR}"
dir="${2:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
venv="$(iam_contract_venv_dir)/moto"
[ -x "$venv/bin/moto_server" ] || { echo "moto not installed: run bash targets/moto/install.sh" >&2; exit 1; }
[ -n "$dir" ] && mkdir -p "$dir" && cd "$dir"
# No real credentials must reach the server; moto needs none.
unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
exec "$venv/bin/moto_server" -H 127.0.0.1 -p "$port"
