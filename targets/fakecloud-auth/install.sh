#!/usr/bin/env bash
# Install what fakecloud-auth needs: the fakecloud binary (targets/fakecloud/install.sh, which
# only checks for it unless told to build) and boto3, for setup.py, in its own small virtualenv.
# Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
bash "$here/../fakecloud/install.sh" "$@"
py="$(iam_contract_python 9)"
ensure_venv fakecloud-setup "$py" "$here/requirements.lock" 'boto3==1.44.8'
