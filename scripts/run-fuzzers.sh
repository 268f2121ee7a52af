#!/usr/bin/env bash
# Runs every libFuzzer target in <build-dir>/fuzz for <seconds> each, seeded from fuzz/corpus/<name>.
# New inputs go to a scratch corpus so the committed seeds stay unchanged. Any crash fails the run.
set -euo pipefail
build_dir=${1:?build dir}
seconds=${2:-20}
shopt -s nullglob
fuzzers=("$build_dir"/fuzz/fuzz_*)
if [[ ${#fuzzers[@]} -eq 0 ]]; then echo "run-fuzzers: no fuzz targets in $build_dir/fuzz" >&2; exit 1; fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
total=0
for f in "${fuzzers[@]}"; do
  [[ -x "$f" && -f "$f" ]] || continue
  name=$(basename "$f")
  seeds="fuzz/corpus/${name#fuzz_}"
  mkdir -p "$scratch/$name"
  args=("$scratch/$name")
  [[ -d "$seeds" ]] && args+=("$seeds")
  echo "== $name: ${seconds}s"
  "$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
       -artifact_prefix="$scratch/$name-" "${args[@]}" 2>&1 | tail -n 12
  total=$((total + seconds))
done
echo "run-fuzzers: ${#fuzzers[@]} targets, ${total}s total, no crashes"
