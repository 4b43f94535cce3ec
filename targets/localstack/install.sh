#!/usr/bin/env bash
# Install LocalStack (community core) 2026.3.0 into its own virtualenv.
# Needs Python 3.13 (3.12+); uses pyenv's 3.13 when python3 is older.
# Idempotent. Not needed in CI (large: ~500 MB, ~2.5 min).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
py="$(iam_contract_python 12)"
ensure_venv localstack "$py" "$here/requirements.lock" \
    'localstack-core[runtime]==2026.3.0' 'cbor2<6' 'pyopenssl==24.2.1' 'cryptography==43.0.3' service-identity
