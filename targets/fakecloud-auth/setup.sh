#!/usr/bin/env bash
# setup.sh URL: issue the key the suite signs with against fakecloud-auth (see setup.py).
set -euo pipefail
url="${1:?usage: setup.sh URL}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
venv="$(iam_contract_venv_dir)/fakecloud-setup"
[ -x "$venv/bin/python" ] || { echo "boto3 for the setup not installed: run bash targets/fakecloud-auth/install.sh" >&2; exit 1; }
unset AWS_PROFILE AWS_SESSION_TOKEN HTTP_PROXY HTTPS_PROXY http_proxy https_proxy
exec "$venv/bin/python" "$here/setup.py" "$url"
