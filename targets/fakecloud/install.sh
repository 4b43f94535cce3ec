#!/usr/bin/env bash
# install.sh [--build]: make sure the fakecloud 0.51.0 binary is in the cache directory
# ${IAM_CONTRACT_FAKECLOUD_DIR:-$HOME/.cache/iam-contract/fakecloud}/bin/fakecloud.
# fakecloud is a Rust crate (AGPL-3.0-or-later; run as a separate process, never linked): building
# it with cargo install takes about an hour on a 2-core machine (657 crates, a 245 MB binary), so
# a plain install.sh only checks for it and says how to build it; --build (or
# IAM_CONTRACT_BUILD_FAKECLOUD=1) builds it, at the lowest CPU priority. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../common.sh"
if bin="$(fakecloud_bin)"; then
    echo "[fakecloud] already installed: $bin"
    exit 0
fi
dir="$(iam_contract_fakecloud_dir)"
if [ "${1:-}" != "--build" ] && [ "${IAM_CONTRACT_BUILD_FAKECLOUD:-}" != 1 ]; then
    echo "fakecloud 0.51.0 is not built in $dir/bin: build it once (about an hour) with" >&2
    echo "  bash targets/fakecloud/install.sh --build" >&2
    exit 1
fi
mkdir -p "$dir"
echo "[fakecloud] building fakecloud 0.51.0 into $dir (about an hour; log: $dir/build.log)"
# The build directory is kept under $dir, not in cargo install's temporary one, so an
# interrupted build (a session that ends, a Ctrl-C) resumes where it stopped when run again.
nice -n 19 cargo install --locked fakecloud@0.51.0 --root "$dir" --target-dir "$dir/target" \
    >"$dir/build.log" 2>&1 \
    || { echo "[fakecloud] build failed or was interrupted (run again to resume); see $dir/build.log" >&2; exit 1; }
fakecloud_bin >/dev/null || { echo "[fakecloud] built, but $dir/bin/fakecloud is not version 0.51.0" >&2; exit 1; }
# The intermediate build (several GB) is no longer needed once the binary is installed.
rm -rf "$dir/target"
echo "[fakecloud] done"
