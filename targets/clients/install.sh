#!/usr/bin/env bash
# Install the real AWS clients the proxy tests drive (the AWS CLI v1 and boto3, pinned) into their
# own virtualenv, $(iam_contract_venv_dir)/clients. Idempotent. Used by `cargo test` (tests/it/
# proxy.rs) and .ci/run; the clients talk to the proxy on 127.0.0.1 only.
# awscli 1.46 carries its own copy of botocore (awscli/botocore, 1.43.x) and requires no botocore
# package, so boto3 (and the botocore it pulls in) is pinned on its own: the newest release, as
# targets/fakecloud-auth uses. requirements.lock is `pip freeze` of the resulting virtualenv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
py="$(iam_contract_python 9)"
ensure_venv clients "$py" "$here/requirements.lock" 'awscli==1.46.3' 'boto3==1.44.8'
