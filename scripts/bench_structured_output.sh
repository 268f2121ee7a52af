#!/usr/bin/env bash
# Decode cost of constrained generation, A/B interleaved against a running `xyserve serve`:
# 8 concurrent chat requests of 128 tokens each, unconstrained (ignore_eos) vs guided_regex
# "[a-z ,.]+" (one automaton state: masks come from the cache after the first step) vs
# "[a-z ,.]{3000}" (a new state per position: every step pays a cold mask on its first pass).
# Prints tokens/s and the median TPOT from the server's request log lines.
# Usage: scripts/bench_structured_output.sh URL SERVER_LOG [ROUNDS]
set -euo pipefail
url=${1:?url}
log=${2:?server log file}
rounds=${3:-3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

run() {
  local mode=$1 extra
  case $mode in
    free) extra='"ignore_eos":true' ;;
    star) extra='"guided_regex":"[a-z\\u0020,.]+"' ;;
    bounded) extra='"guided_regex":"[a-z\\u0020,.]{3000}"' ;;
  esac
  local start end
  start=$(date +%s.%N)
  for i in $(seq 1 8); do
    curl -s "$url/v1/chat/completions" -H 'content-type: application/json' \
      -d "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"List $i\"}],\"max_tokens\":128,\"temperature\":1.0,\"seed\":$i,$extra}" \
      >"$scratch/$mode-$i.json" &
  done
  wait
  end=$(date +%s.%N)
  sleep 0.2
  local tokens tpot
  tokens=$(cat "$scratch/$mode"-*.json | grep -o '"completion_tokens":[0-9]*' | cut -d: -f2 | paste -sd+ | bc)
  tpot=$(tail -n 8 "$log" | grep -o 'tpot=[0-9.]*ms' | sed 's/tpot=//;s/ms//' | sort -n | sed -n 4p)
  printf '%-8s %5d tokens  %6.1f tok/s  median TPOT %s ms\n' "$mode" "$tokens" \
    "$(echo "$tokens / ($end - $start)" | bc -l)" "$tpot"
  rm -f "$scratch/$mode"-*.json
}

for r in $(seq 1 "$rounds"); do
  echo "round $r"
  run free
  run star
  run bounded
done
