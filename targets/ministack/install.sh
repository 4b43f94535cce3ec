#!/usr/bin/env bash
# Install MiniStack 1.5.33 into its own virtualenv. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
py="$(iam_contract_python 10)"
ensure_venv ministack "$py" "$here/requirements.lock" 'ministack==1.5.33'
