#!/usr/bin/env bash
# start.sh PORT DIR: run MiniStack in the foreground on 127.0.0.1:PORT.
# exec replaces this shell, so a SIGTERM to this script's pid stops the server.
# Signatures are not verified unless AUTH=true is in the environment
# (MINISTACK_AUTH=true is accepted here as an alias); the root credentials are
# then test/test (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY as set below).
set -euo pipefail
port="${1:?usage: start.sh PORT DIR}"
dir="${2:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
venv="$(iam_contract_venv_dir)/ministack"
[ -x "$venv/bin/ministack" ] || { echo "ministack not installed: run bash targets/ministack/install.sh" >&2; exit 1; }
if [ -n "$dir" ]; then
    mkdir -p "$dir/tmp"
    cd "$dir"
    export TMPDIR="$dir/tmp"           # pid file ministack-PORT.pid goes here
    export S3_DATA_DIR="$dir/s3"
fi
unset AWS_PROFILE AWS_SESSION_TOKEN LOCALSTACK_PERSISTENCE
# The root caller's key; the server reads these (no real credentials here).
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AUTH="${MINISTACK_AUTH:-${AUTH:-false}}"
export BIND_HOST=127.0.0.1 GATEWAY_PORT="$port" MINISTACK_HOST=localhost
export SERVICES="${MINISTACK_SERVICES:-iam,sts}"
exec "$venv/bin/ministack"
