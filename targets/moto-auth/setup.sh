#!/usr/bin/env bash
# setup.sh URL: make moto verify signatures and issue the key the suite signs with (see setup.py).
set -euo pipefail
url="${1:?usage: setup.sh URL}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
venv="$(iam_contract_venv_dir)/moto"
[ -x "$venv/bin/python" ] || { echo "moto not installed: run bash targets/moto/install.sh" >&2; exit 1; }
unset AWS_PROFILE AWS_SESSION_TOKEN HTTP_PROXY HTTPS_PROXY http_proxy https_proxy
exec "$venv/bin/python" "$here/setup.py" "$url"
