#!/usr/bin/env bash
# start.sh PORT DIR: run the LocalStack runtime in the foreground on
# 127.0.0.1:PORT with only IAM and STS. The hypercorn gateway is forced because
# the default gateway binds 0.0.0.0. exec replaces this shell, so a SIGTERM to
# this script's pid stops the server.
set -euo pipefail
port="${1:?usage: start.sh PORT DIR}"
dir="${2:?usage: start.sh PORT DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
venv="$(iam_contract_venv_dir)/localstack"
[ -x "$venv/bin/python" ] || { echo "localstack not installed: run bash targets/localstack/install.sh" >&2; exit 1; }
mkdir -p "$dir/tmp" "$dir/cache" "$dir/var"
dir="$(cd "$dir" && pwd)"
cd "$dir"
unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export GATEWAY_SERVER=hypercorn GATEWAY_LISTEN="127.0.0.1:$port" DNS_ADDRESS=0 \
       SERVICES=iam,sts DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
       LOCALSTACK_VOLUME_DIR="$dir/var" TMPDIR="$dir/tmp" FILESYSTEM_ROOT="$dir"
exec "$venv/bin/python" -m localstack.runtime.main
