#!/usr/bin/env bash
# One boto3 session (tests/data/proxy_session.py deviations) through `iam-contract proxy` to a
# fresh moto on a free loopback port, judged against targets/moto/proxy-baseline.toml; then the
# HAR it recorded judged again offline by `verify` with the same baseline. Fails when either
# finds a deviation the baseline does not list, or a baselined one no longer shows.
#   bin=target/release/iam-contract scripts/proxy-session.sh OUT_DIR
# Needs targets/clients/install.sh and targets/moto/install.sh to have run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-target/ci}"
bin="${bin:-./target/release/iam-contract}"
mkdir -p "$out"
. targets/common.sh
venvs="$(iam_contract_venv_dir)"
port=$(free_port)
dir=$(mktemp -d)
bash targets/moto/start.sh "$port" "$dir" >"$dir/log" 2>&1 &
pid=$!
trap 'stop_server "$pid"; rm -rf "$dir"' EXIT
wait_for_http "$port" / 60 "$pid"
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 \
    "$bin" proxy --upstream "http://127.0.0.1:$port/" \
    --baseline targets/moto/proxy-baseline.toml --record "$out/moto-proxy.har" \
    --report "json=$out/moto-proxy.json" --report "markdown=$out/moto-proxy.md" --quiet -- \
    "$venvs/clients/bin/python" tests/data/proxy_session.py deviations
"$bin" verify "$out/moto-proxy.har" --baseline targets/moto/proxy-baseline.toml --quiet
