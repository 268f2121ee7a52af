#!/usr/bin/env bash
# Single-stream decode and 512-token prompt processing of model files (a checkpoint directory or
# a .gguf), xyserve and, when LLAMA_BENCH names llama.cpp's llama-bench, llama.cpp on the same
# .gguf files, in interleaved rounds (file A, file B, ..., then again) so the VM's drift hits
# every configuration alike. Prints one line per measurement and the medians.
#
#   scripts/bench_quant.sh ROUNDS MODEL...
#   env: XY (default build/src/cli/xyserve), LLAMA_BENCH (optional), THREADS (2), TG (64)
#
# xyserve: `bench offline` with a synthesized prompt of exactly 512 tokens in one 512-token step
# (pp512: prompt tok/s) and an 8-token prompt + TG generated tokens alone (tg: 1000 / mean TPOT).
# llama.cpp: `llama-bench -p 512 -n TG -r 1` (its pp512 and tgTG).
set -euo pipefail
rounds=${1:?usage: bench_quant.sh ROUNDS MODEL...}
shift
XY=${XY:-build/src/cli/xyserve}
THREADS=${THREADS:-2}
TG=${TG:-64}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

xy_run() {  # model -> "pp tg"
  local pp tg tpot
  pp=$("$XY" bench offline --model "$1" --num-prompts 1 --max-num-seqs 1 --input-len 512 \
    --output-len 1 --max-num-batched-tokens 512 --threads "$THREADS" --seed 1 2>&1 |
    sed -n 's/.*(\([0-9.]*\) prompt tok\/s).*/\1/p')
  tpot=$("$XY" bench offline --model "$1" --num-prompts 1 --max-num-seqs 1 --input-len 8 \
    --output-len "$TG" --threads "$THREADS" --seed 1 2>&1 |
    sed -n 's/.*Mean TPOT: \([0-9.]*\) ms.*/\1/p')
  tg=$(awk -v t="$tpot" 'BEGIN { printf "%.2f", 1000 / t }')
  echo "$pp $tg"
}

llama_run() {  # model.gguf -> "pp tg"
  "$LLAMA_BENCH" -m "$1" -t "$THREADS" -p 512 -n "$TG" -r 1 -o csv 2>/dev/null |
    awk -F, 'NR == 1 { for (i = 1; i <= NF; ++i) if ($i == "avg_ts") c = i; next }
             { gsub(/"/, "", $c); v[NR] = $c } END { printf "%s %s\n", v[2], v[3] }'
}

for ((r = 1; r <= rounds; ++r)); do
  for m in "$@"; do
    read -r pp tg < <(xy_run "$m")
    echo "round $r xyserve $m pp512 $pp tg$TG $tg" | tee -a "$out"
    if [[ -n "${LLAMA_BENCH:-}" && "$m" == *.gguf ]]; then
      read -r pp tg < <(llama_run "$m")
      echo "round $r llama.cpp $m pp512 $pp tg$TG $tg" | tee -a "$out"
    fi
  done
done

echo "medians over $rounds rounds (tok/s):"
awk '{ key = $3 " " $4; pp[key] = pp[key] " " $6; tg[key] = tg[key] " " $8 }
     function median(list,   a, n, i, j, t) {
       n = split(list, a, " ")
       for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
       return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
     }
     END { for (k in pp) printf "  %-60s pp512 %8.1f  tg %7.2f\n", k, median(pp[k]), median(tg[k]) }' "$out" | sort
