#!/usr/bin/env bash
# Install moto 5.2.5 (server extra) into its own virtualenv. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
py="$(iam_contract_python 9)"
ensure_venv moto "$py" "$here/requirements.lock" 'moto[server]==5.2.5'
