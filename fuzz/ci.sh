# Fuzz smoke run for .ci/run (bash; source it or paste it). Installs cargo-fuzz pinned, builds
# the fuzz package once without sanitizer (works on the stable toolchain), then fuzzes each
# in-process target for FUZZ_SECONDS (default 20 s; 6 targets = 120 s) from the committed seeds
# with the dictionary. A crash fails the run and prints how to reproduce it. The `endpoint`
# target runs against the embedded emulator (IAM_CONTRACT_FUZZ_ENDPOINT is unset here).
# The committed seeds and minimised crashes are also replayed by `cargo test` (fuzz_replay).
fuzz_smoke() {
  local secs="${FUZZ_SECONDS:-20}"
  local version=0.13.2
  if ! cargo fuzz --version 2>/dev/null | grep -q "$version"; then
    echo "== installing cargo-fuzz $version"
    cargo install cargo-fuzz --version "$version" --locked || return 1
  fi
  (
    cd fuzz || exit 1
    echo "== building fuzz targets (-s none)"
    cargo fuzz build -s none || exit 1
    local failed=0
    for t in form_decode xml_response cli_input emulator_request endpoint policy_document; do
      mkdir -p "corpus/$t"
      echo "== fuzzing $t for ${secs}s"
      # corpus/$t first: libFuzzer writes new inputs into the first directory only, so the
      # committed seeds stay untouched.
      if ! env -u IAM_CONTRACT_FUZZ_ENDPOINT cargo fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- \
          -max_total_time="$secs" -dict=iam.dict -print_final_stats=1 >"/tmp/fuzz-$t.log" 2>&1; then
        failed=1
        echo "!! fuzz target $t found a failure:"
        grep -A8 -m1 "panicked at\|ERROR: libFuzzer" "/tmp/fuzz-$t.log" || tail -30 "/tmp/fuzz-$t.log"
        local art
        art=$(ls -t "artifacts/$t"/* 2>/dev/null | head -1)
        echo "!! reproduce: cd fuzz && cargo fuzz run -s none $t $art"
        echo "!! minimise:  cd fuzz && cargo fuzz tmin -s none $t $art"
        echo "!! then fix the library, copy the minimised input to fuzz/regressions/$t/ and commit it"
      else
        grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec" "/tmp/fuzz-$t.log" | tr '\n' ' '
        echo
      fi
    done
    exit "$failed"
  )
}
fuzz_smoke
