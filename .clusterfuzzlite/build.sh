#!/bin/bash -eu
# Builds every cargo-fuzz target with the sanitizer ClusterFuzzLite asks for ($SANITIZER,
# applied by cargo fuzz through the base image's RUSTFLAGS) and copies the binaries, the
# dictionary and a zip of the committed seeds next to each other, as OSS-Fuzz expects.
cd "$SRC/iam-contract"
cargo fuzz build -O
out_dir=fuzz/target/x86_64-unknown-linux-gnu/release
for t in form_decode xml_response cli_input emulator_request endpoint; do
  cp "$out_dir/$t" "$OUT/"
  cp fuzz/iam.dict "$OUT/$t.dict"
  if [ -d "fuzz/seeds/$t" ]; then
    (cd "fuzz/seeds/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
  fi
done
