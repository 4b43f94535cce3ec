#!/usr/bin/env bash
# Install the real AWS clients the proxy tests drive (the AWS CLI v1 and boto3, pinned) into their
# own virtualenv, $(iam_contract_venv_dir)/clients. Idempotent. Used by `cargo test` (tests/it/
# proxy.rs) and .ci/run; the clients talk to the proxy on 127.0.0.1 only.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
py="$(iam_contract_python 9)"
ensure_venv clients "$py" "$here/requirements.lock" 'awscli==1.42.72' 'boto3==1.40.72'
