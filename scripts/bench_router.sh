#!/usr/bin/env bash
# Scale-out numbers for docs/scale-out.md: `xyserve bench serve` through `xyserve router`.
#   scale    azure-conv trace: 1 replica vs 2 replicas (prefix affinity)
#   affinity mooncake-conv trace (shared prefixes) at 0.3 req/s: 2 replicas, round_robin vs
#            prefix_affinity
#   pd       poisson 256+64 at 1 req/s: 2 hybrid replicas vs 1 prefill + 1 decode
# Sampling at temperature 1 (random-weight models repeat one token greedily, often one
# whose text is empty). Every configuration starts fresh replicas (cold caches); configurations are interleaved
# (A B A B) over ROUNDS rounds. Replicas run 1 compute thread each (this VM has 2 cores).
# Prints one line per run; the prefix-cache hit rate and KV bytes come from the replicas'
# /metrics. Usage: scripts/bench_router.sh XYSERVE MODEL_DIR [ROUNDS] [which...]
set -euo pipefail
X=${1:?xyserve binary}
model=${2:?model directory (make-model --preset smollm2-135m)}
rounds=${3:-2}
shift 3 || true
which=("${@:-scale affinity pd}")
work=$(mktemp -d)
# replica() and router() run in $(...) subshells, so the processes they start are recorded in
# a file: a shell array set there would be lost, and the processes would outlive their run.
pidfile="$work/pids"
: >"$pidfile"
stop_all() {
  while read -r p; do kill "$p" 2>/dev/null || true; done <"$pidfile"
  while read -r p; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done <"$pidfile"
  : >"$pidfile"
}
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT

port_of() {  # log file -> port, once the process listens
  local log=$1 p=""
  for _ in $(seq 1 300); do
    p=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    [[ -n "$p" ]] && { echo "$p"; return; }
    sleep 0.1
  done
  echo "no port in $log" >&2; exit 1
}
healthy() { for _ in $(seq 1 600); do curl -sf "$1/health" >/dev/null && return; sleep 0.1; done; echo "$1 unhealthy" >&2; exit 1; }
replica() {  # role -> url
  local log="$work/replica-$RANDOM.log"
  "$X" serve --model "$model" --served-model-name m --threads 1 --port 0 --role "$1" \
    --kv-cache-memory 1GiB --enable-prefix-caching >"$log" 2>&1 &
  echo $! >>"$pidfile"
  local url="http://127.0.0.1:$(port_of "$log")"
  healthy "$url"
  echo "$url"
}
router() {  # policy replicas... -> url
  local policy=$1; shift
  local log="$work/router-$RANDOM.log" args=()
  for r in "$@"; do args+=(--replica "$r"); done
  "$X" router --port 0 --policy "$policy" --health-interval 0.5 "${args[@]}" >"$log" 2>&1 &
  echo $! >>"$pidfile"
  local url="http://127.0.0.1:$(port_of "$log")"
  healthy "$url"
  echo "$url"
}
metric_sum() {  # name urls... -> sum over replicas
  local name=$1; shift
  local total=0 v
  for u in "$@"; do
    v=$(curl -s "$u/metrics" | grep "^$name{" | awk '{print $2}' | head -1)
    total=$(echo "$total + ${v:-0}" | bc -l)
  done
  echo "$total"
}

bench() {  # label url trace-args... ; replicas in $reps
  local label=$1 url=$2; shift 2
  local q0 h0 b0 t0 q1 h1 b1 t1
  q0=$(metric_sum xyserve:prefix_cache_queries_total "${reps[@]}")
  h0=$(metric_sum xyserve:prefix_cache_hits_total "${reps[@]}")
  b0=$(metric_sum xyserve:kv_transfer_bytes_received_total "${reps[@]}")
  t0=$(metric_sum xyserve:kv_transfers_received_total "${reps[@]}")
  "$X" bench serve --request-timeout 120 --url "$url" --model m --tokenizer "$model" --slo-ttft-ms 2000 --slo-tpot-ms 200 \
    --temperature 1.0 --no-progress --json-out "$work/out.json" "$@" >/dev/null
  q1=$(metric_sum xyserve:prefix_cache_queries_total "${reps[@]}")
  h1=$(metric_sum xyserve:prefix_cache_hits_total "${reps[@]}")
  b1=$(metric_sum xyserve:kv_transfer_bytes_received_total "${reps[@]}")
  t1=$(metric_sum xyserve:kv_transfers_received_total "${reps[@]}")
  python3 - "$work/out.json" "$label" "$q0" "$q1" "$h0" "$h1" "$b0" "$b1" "$t0" "$t1" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); s = j["summary"]
label = sys.argv[2]; q0, q1, h0, h1, b0, b1, t0, t1 = map(float, sys.argv[3:11])
hit = (h1 - h0) / (q1 - q0) if q1 > q0 else 0.0
kv = (b1 - b0) / max(t1 - t0, 1)  # per transfer
print(f"{label:28s} done {s['completed']}/{s['total_requests']}  out {s['output_throughput']:7.1f} tok/s  "
      f"TTFT p50 {s['ttft_ms']['p50']:7.0f} p99 {s['ttft_ms']['p99']:7.0f} ms  "
      f"TPOT p50 {s['tpot_ms']['p50']:6.1f} p99 {s['tpot_ms']['p99']:6.1f} ms  "
      f"hit {hit:5.3f}  KV/req {kv/1e6:6.2f} MB", flush=True)
errs = {}
for r in j.get("requests", []):
    e = r.get("error")
    if e: errs[e[:100]] = errs.get(e[:100], 0) + 1
for e, n in errs.items(): print(f"    {n} x {e}")
PY
}

for r in $(seq 1 "$rounds"); do
  for w in ${which[@]}; do
    case $w in
      scale)
        reps=("$(replica hybrid)"); url=$(router prefix_affinity "${reps[@]}")
        bench "azure-conv 1 replica" "$url" --trace azure-conv --rate 1 --num-prompts 30 --max-model-len 2048 --seed $r
        stop_all
        reps=("$(replica hybrid)" "$(replica hybrid)"); url=$(router prefix_affinity "${reps[@]}")
        bench "azure-conv 2 replicas" "$url" --trace azure-conv --rate 1 --num-prompts 30 --max-model-len 2048 --seed $r
        stop_all ;;
      affinity)
        for policy in round_robin prefix_affinity; do
          reps=("$(replica hybrid)" "$(replica hybrid)"); url=$(router $policy "${reps[@]}")
          bench "mooncake-conv $policy" "$url" --trace mooncake-conv --rate 0.3 --num-prompts 30 --max-model-len 2048 --seed $r
          stop_all
        done ;;
      pd)
        reps=("$(replica hybrid)" "$(replica hybrid)"); url=$(router prefix_affinity "${reps[@]}")
        bench "poisson 256+64 hybrid x2" "$url" --trace poisson --rate 1 --num-prompts 30 --input-len 256 --output-len 64 --seed $r
        stop_all
        p=$(replica prefill); d=$(replica decode); reps=("$p" "$d")
        url=$(router prefix_affinity "$p prefill" "$d decode")
        bench "poisson 256+64 PD 1P+1D" "$url" --trace poisson --rate 1 --num-prompts 30 --input-len 256 --output-len 64 --seed $r
        stop_all ;;
    esac
  done
done
