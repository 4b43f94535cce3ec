#!/usr/bin/env bash
# Behaviour-preservation check for refactors: runs `check` with a fixed seed from two builds of
# iam-contract against the embedded emulator, against the emulator with each of its faults, and
# (with --moto) against moto, and compares the JSON reports apart from what legitimately changes
# between runs (elapsed times, request ids, the random run prefix, dates, key ids and excerpts that
# quote them).
#
#   scripts/compare-reports.sh OLD_BINARY NEW_BINARY [--moto] [--out DIR]
#   scripts/compare-reports.sh --record BINARY DIR [--moto]   # only write normalised reports
#   scripts/compare-reports.sh --against DIR BINARY [--moto] [DIR2]  # compare BINARY with
#       recorded reports (DIR2: a second recording of the old build, see `compare`)
#
# Exit 0 when every pair is the same, 1 when any differs (the diff is printed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seed=4242
# A fixed run prefix (hex, as the random ones are), so generated names match between runs.
export IAM_CONTRACT_RUN_PREFIX=icx0c0ffee0

normalise() {
    # Keep the report's structure; blank what differs from run to run.
    python3 - "$1" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
r["summary"]["elapsed_ms"] = 0
r["target"]["endpoint"] = "<endpoint>"
pat = [
    # The run prefix (icx + 8 random hex digits), also where a long name cuts it short, and the
    # per-run counter the runner appends to generated names (it counts in completion order).
    (re.compile(r"icx[0-9a-f]{1,8}"), "icxPREFIX"),
    (re.compile(r"icxPREFIX-([A-Za-z]+)\d+"), r"icxPREFIX-\1N"),
    (re.compile(r"http://127\.0\.0\.1:\d+/?"), "<endpoint>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), "<date>"),
    (re.compile(r"\b(AKIA|AKIB|ASIA|LKIA)[A-Z0-9]{8,}\b"), "<key-id>"),
    (re.compile(r"<RequestId>[^<]*</RequestId>"), "<RequestId/>"),
    (re.compile(r"<UserId>[^<]*</UserId>"), "<UserId/>"),
    (re.compile(r"\b1[5-9]\d{8}\b"), "<epoch>"),
    (re.compile(r"\b[A-Z0-9]{20,}\b"), "<id>"),
]
def walk(v):
    if isinstance(v, dict):
        return {k: walk(x) for k, x in v.items()}
    if isinstance(v, list):
        return [walk(x) for x in v]
    if isinstance(v, str):
        for p, s in pat:
            v = p.sub(s, v)
    return v
r = walk(r)
# Findings finish concurrently; compare them as a sorted list. A fingerprint is a field reports
# gained after the refactor this script was written for: a build without it is not different.
for rule in r["rules"]:
    for f in rule["findings"]:
        f.pop("fingerprint", None)
    rule["findings"].sort(key=lambda f: json.dumps(f, sort_keys=True))
print(json.dumps(r, indent=1, sort_keys=True))
PY
}

verdicts() {
    # Only the verdicts: per rule its status, skip reason and whether it has findings.
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for rule in r["rules"]:
    print(rule["id"], rule["status"], rule.get("skip_reason"), bool(rule["findings"]))
PY
}

run_one() { # BINARY REPORT_NAME OUT_JSON: one normalised run of the configuration a report names
    local bin="$1" name="${2%.json}" raw; raw=$(mktemp)
    case "$name" in
        emulator) "$bin" check --seed "$seed" --quiet --report "json=$raw" >/dev/null 2>&1 || true ;;
        fault-*) "$bin" check --seed "$seed" --quiet --fault "${name#fault-}" --report "json=$raw" >/dev/null 2>&1 || true ;;
        moto) (cd "$here" && "$bin" check --target moto --seed "$seed" --quiet --report "json=$raw" >/dev/null 2>&1) || true ;;
    esac
    normalise "$raw" > "$3"; rm -f "$raw"
}

run_set() { # BINARY DIR [--moto]
    local bin="$1" dir="$2" moto="${3:-}"
    mkdir -p "$dir"
    local faults
    faults=$("$bin" serve --list-faults | awk '{print $1}' | grep -v -e '^slow$' -e '^random-500$')
    "$bin" check --seed "$seed" --quiet --report "json=$dir/raw.json" >/dev/null 2>&1 || true
    normalise "$dir/raw.json" > "$dir/emulator.json"
    for f in $faults; do
        "$bin" check --seed "$seed" --quiet --fault "$f" --report "json=$dir/raw.json" >/dev/null 2>&1 || true
        normalise "$dir/raw.json" > "$dir/fault-$f.json"
    done
    if [ "$moto" = "--moto" ]; then
        (cd "$here" && "$bin" check --target moto --seed "$seed" --quiet --report "json=$dir/raw.json" >/dev/null 2>&1) || true
        normalise "$dir/raw.json" > "$dir/moto.json"
    fi
    rm -f "$dir/raw.json"
}

compare() { # OLD_DIR NEW_DIR [OLD_AGAIN_DIR]
    # Exact equality of the normalised reports; where the old build does not even agree with
    # itself (a second old run in OLD_AGAIN_DIR differs: which of many equivalent findings a
    # concurrent run keeps, or a fault that is a race), equality of the verdicts.
    local status=0 same=0 verdict_only=0
    for f in "$1"/*.json; do
        local name; name=$(basename "$f")
        if diff -u "$f" "$2/$name" > "$2/$name.diff"; then
            same=$((same + 1)); rm -f "$2/$name.diff"; continue
        fi
        if [ -n "${3:-}" ] && diff <(verdicts "$f") <(verdicts "$2/$name") >/dev/null; then
            # Does the old build agree with itself on this configuration? Its second recording,
            # then (when that agreed) up to three more runs, must all match its first.
            local varies=0 again; again=$(mktemp)
            if ! diff -q "$f" "$3/$name" >/dev/null; then varies=1; fi
            for _ in 1 2 3; do
                [ $varies = 1 ] && break
                [ -n "${OLD_BIN:-}" ] || break
                run_one "$OLD_BIN" "$name" "$again"
                diff -q "$f" "$again" >/dev/null || varies=1
            done
            rm -f "$again"
            if [ $varies = 1 ]; then
                verdict_only=$((verdict_only + 1))
                echo "same verdicts: $name (details vary between runs of the old build too)"
                continue
            fi
        fi
        echo "DIFFERS: $name"; head -60 "$2/$name.diff"; status=1
    done
    echo "identical: $same report(s); same verdicts: $verdict_only; differing: $([ $status = 0 ] && echo 0 || echo some)"
    return $status
}

case "${1:-}" in
    --record) run_set "$2" "$3" "${4:-}" ;;
    --against) out=$(mktemp -d); run_set "$3" "$out" "${4:-}"; compare "$2" "$out" "${5:-}" ;;
    "") echo "usage: $0 OLD_BINARY NEW_BINARY [--moto] | --record BINARY DIR [--moto] | --against DIR BINARY [--moto] [OLD_AGAIN_DIR]" >&2; exit 2 ;;
    *) out=$(mktemp -d); OLD_BIN="$1"; run_set "$1" "$out/old" "${3:-}"; run_set "$1" "$out/old2" "${3:-}"
       run_set "$2" "$out/new" "${3:-}"; compare "$out/old" "$out/new" "$out/old2" ;;
esac
