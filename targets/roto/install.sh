#!/usr/bin/env bash
# Install roto-aws 0.10.1 (a Rust server shipped inside the wheel, no dependencies) into its own
# virtualenv. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
py="$(iam_contract_python 9)"
ensure_venv roto "$py" "$here/requirements.lock" 'roto-aws==0.10.1'
