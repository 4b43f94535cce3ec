#!/usr/bin/env bash
# Time to first result on this machine: a cold `cargo build --release`, then a cold
# `cargo test` (build, then run), as a fresh clone does with the README's two commands, each
# in an empty target directory, with `--timings` and the wall and CPU time of each step.
#   scripts/cold-build.sh [OUT_DIR]        (default target/cold-build; the build dir is removed)
# Prints the summary and the ten largest units of each build. Registry downloads must already
# be cached (`cargo fetch`), so the network does not count.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-target/cold-build}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
: > "$out/summary"
export CARGO_TARGET_DIR
CARGO_TARGET_DIR="$(mktemp -d)"
trap 'rm -rf "$CARGO_TARGET_DIR"' EXIT
step() {
    local name=$1
    shift
    /usr/bin/time -f "%e s wall, %U s user, %S s sys" -o "$out/$name.time" "$@" >"$out/$name.log" 2>&1
    echo "$name (exit $?): $(tail -1 "$out/$name.time")" | tee -a "$out/summary"
}
step release cargo build --release --timings
cp "$CARGO_TARGET_DIR/cargo-timings/cargo-timing.html" "$out/release-timing.html"
step test-build cargo test --no-run --timings
cp "$CARGO_TARGET_DIR/cargo-timings/cargo-timing.html" "$out/test-timing.html"
step test-run cargo test
for f in release test; do
    python3 - "$out/$f-timing.html" <<'PY'
import collections, json, re, sys
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", open(sys.argv[1]).read(), re.S).group(1))
total = collections.Counter()
for u in units:
    total[u["name"]] += u["duration"]
wall = max(u["start"] + u["duration"] for u in units)
print(f"{sys.argv[1]}: wall {wall:.0f} s; top ten: " + ", ".join(f"{k} {v:.0f}" for k, v in total.most_common(10)))
PY
done
