#!/usr/bin/env bash
# start.sh PORT DIR [FLAG...]: run fakecloud in the foreground on 127.0.0.1:PORT, state in memory,
# with any further flags (fakecloud-auth passes --verify-sigv4 --iam strict).
# exec replaces this shell, so a SIGTERM to this script's pid stops the server.
# fakecloud's own default address is 0.0.0.0:4566, so --addr is always given. Every FAKECLOUD_*
# variable is dropped: they set options (FAKECLOUD_ADDR, FAKECLOUD_STORAGE_MODE, ...) and
# FAKECLOUD_SES_SMTP_PORT opens an SMTP listener on 0.0.0.0. The other listeners it has (DNS,
# the link-local IMDS) are off unless asked for.
set -euo pipefail
port="${1:?usage: start.sh PORT DIR [FLAG...]}"
dir="${2:-}"
shift 2 || shift $#
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
bin="$(fakecloud_bin)" || { echo "fakecloud 0.51.0 not built: run bash targets/fakecloud/install.sh --build (about an hour)" >&2; exit 1; }
[ -n "$dir" ] && mkdir -p "$dir" && cd "$dir"
for v in $(compgen -e | grep '^FAKECLOUD_' || true); do unset "$v"; done
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
exec "$bin" --addr "127.0.0.1:$port" --storage-mode memory --log-level warn "$@"
