#!/usr/bin/env bash
# start.sh PORT DIR: run roto-server in the foreground on 127.0.0.1:PORT, state in memory only.
# exec replaces this shell, so a SIGTERM to this script's pid stops the server.
# roto's own default host is 127.0.0.1 already; it is passed anyway so a later default cannot
# widen it. --ephemeral keeps everything in memory (without it, state goes to a SQLite database
# under --data-dir, default ./roto-data); no other port is opened unless --alb-port is given.
set -euo pipefail
port="${1:?usage: start.sh PORT DIR}"
dir="${2:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
venv="$(iam_contract_venv_dir)/roto"
[ -x "$venv/bin/roto-server" ] || { echo "roto not installed: run bash targets/roto/install.sh" >&2; exit 1; }
[ -n "$dir" ] && mkdir -p "$dir" && cd "$dir"
# roto checks no credentials; none must reach it. ROTO_* settings from the caller's environment
# (data dir, Lua services) are dropped so the run is the same everywhere.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
      ROTO_DATA_DIR ROTO_ACCOUNT_ID ROTO_LUA_SERVICES
exec "$venv/bin/roto-server" --host 127.0.0.1 --port "$port" --ephemeral
