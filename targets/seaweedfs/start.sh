#!/usr/bin/env bash
# start.sh PORT DIR: run `weed mini` (master, volume, filer and S3 gateway in
# one process) in the foreground. The S3 gateway, which also serves the IAM
# API, listens on 127.0.0.1:PORT; every other listener gets a free loopback
# port. DIR holds the data (fresh DIR = fresh state).
# exec replaces this shell, so a SIGTERM to this script's pid stops the server.
#
# IAM verifies SigV4. The admin identity comes from AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY at start; this script sets dummy values that match
# targets/seaweedfs/target.toml (override with SEAWEEDFS_ADMIN_ACCESS_KEY /
# SEAWEEDFS_ADMIN_SECRET_KEY).
set -euo pipefail
port="${1:?usage: start.sh PORT DIR}"
dir="${2:?usage: start.sh PORT DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
venv="$(iam_contract_venv_dir)/seaweedfs"
weed="$venv/bin/weed"
[ -x "$weed" ] || { echo "seaweedfs not installed: run bash targets/seaweedfs/install.sh" >&2; exit 1; }
mkdir -p "$dir/data" "$dir/logs"
dir="$(cd "$dir" && pwd)"
cd "$dir"

# 9 more free loopback ports, all distinct and different from $port.
read -r mp mg vp vg fp fg sg ap ag < <("$venv/bin/python" - "$port" <<'PY'
import socket, sys
taken = {int(sys.argv[1]), int(sys.argv[1]) + 10000}
socks, ports = [], []
while len(ports) < 9:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    socks.append(s)
    if p not in taken:
        taken.add(p); ports.append(p)
print(*ports)
PY
)

unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_ACCESS_KEY_ID="${SEAWEEDFS_ADMIN_ACCESS_KEY:-weedadmin}"
export AWS_SECRET_ACCESS_KEY="${SEAWEEDFS_ADMIN_SECRET_KEY:-weedadmin-dummy-secret-not-real-0000}"

sock_args=()
if [ ${#dir} -lt 80 ]; then
    sock_args=(-filer.localSocket="$dir/filer.sock" -s3.localSocket="$dir/s3.sock")
fi

exec "$weed" -logdir="$dir/logs" mini \
    -dir="$dir/data" \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -s3.port="$port" -s3.port.grpc="$sg" \
    -s3.iam.readOnly=false \
    -s3.port.iceberg=0 -s3.port.lance=0 \
    -master.port="$mp" -master.port.grpc="$mg" -master.telemetry=false \
    -volume.port="$vp" -volume.port.grpc="$vg" \
    -filer.port="$fp" -filer.port.grpc="$fg" \
    -admin.ui=false -admin.port="$ap" -admin.port.grpc="$ag" \
    -webdav=false \
    "${sock_args[@]}"
