#!/usr/bin/env bash
# Runs the kernel benchmarks (machine ceilings, then SmoothGEMM vs oneDNN / OpenBLAS) and prints
# a summary table. Usage: scripts/bench_kernels.sh [BUILD_DIR]   (default: build)
# SmoothGEMM runs in both numerics modes: bf16 compute (XY_GEMM_ISA=avx512bf16, vdpbf16ps: the
# default for bf16 checkpoints, compared with oneDNN's bf16 matmul) where the CPU has AVX512_BF16,
# and exact f32 arithmetic on bf16 weights (compared with oneDNN's f32 matmul).
# Environment:
#   XY_BENCH_THREADS  threads for every library (default: all CPUs of this process)
#   XY_BENCH_FILTER   regex over gemm benchmark names, e.g. 'smollm2-135m/.*/M:(1|512)/'
#   XY_BENCH_REPS     repetitions; the table uses the median (default 3)
#   XY_BENCH_ROUNDS   rounds of the libraries in turn (A B A B: this VM's speed drifts); the
#                     table uses the median over all rounds' repetitions (default 1)
#   XY_BENCH_OUT      directory for the raw JSON (default: BUILD_DIR/bench-results)
#   XY_BENCH_CPU_TIME=1  rates from the calling thread's CPU time instead of wall time: with
#                        XY_BENCH_THREADS=1 this discounts time stolen by other processes on a
#                        busy machine (meaningless with more threads)
set -euo pipefail
build="${1:-build}"
reps="${XY_BENCH_REPS:-3}"
rounds="${XY_BENCH_ROUNDS:-1}"
filter="${XY_BENCH_FILTER:-.}"
out="${XY_BENCH_OUT:-$build/bench-results}"
mkdir -p "$out"
for b in bench_machine bench_gemm; do
  if [[ ! -x "$build/benchmarks/$b" ]]; then
    echo "bench_kernels: $build/benchmarks/$b not built (needs libbenchmark-dev; configure with -DXYSERVE_BENCHMARKS=ON)" >&2
    exit 1
  fi
done
common=(--benchmark_repetitions="$reps" --benchmark_format=json)
echo "bench_kernels: machine ceilings ($reps repetitions)..." >&2
"$build/benchmarks/bench_machine" "${common[@]}" > "$out/machine.json"
impls=(smooth dnnl openblas)
if grep -q avx512_bf16 /proc/cpuinfo 2>/dev/null; then impls=(smooth_dot "${impls[@]}"); fi
rm -f "$out"/gemm_*.json
# One process per library: idle worker threads of one library spin and would slow the next.
for ((round = 1; round <= rounds; ++round)); do
  for impl in "${impls[@]}"; do
    echo "bench_kernels: round $round/$rounds, $impl GEMMs matching '$filter' ($reps repetitions)..." >&2
    if [[ $impl == smooth_dot ]]; then
      XY_GEMM_ISA=avx512bf16 XY_BENCH_IMPLS=smooth "$build/benchmarks/bench_gemm" "${common[@]}" \
        --benchmark_filter="smooth_bf16/.*$filter" > "$out/gemm_${impl}_r$round.json"
    else
      XY_BENCH_IMPLS=$impl "$build/benchmarks/bench_gemm" "${common[@]}" \
        --benchmark_filter="$filter" > "$out/gemm_${impl}_r$round.json"
    fi
  done
done
python3 - "$out/machine.json" "$out"/gemm_*_r*.json <<'PY'
import json, math, os, re, statistics, sys

def medians(path, rename=None):
    """Per benchmark: its repetitions (one dict each), renamed by `rename` (a function)."""
    data = json.load(open(path))
    runs = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred") or b.get("run_type") != "iteration":
            continue
        name = re.sub(r"/(min_time:[^/]*|real_time)", "", b["run_name"])
        if rename:
            name = rename(name)
        if os.environ.get("XY_BENCH_CPU_TIME") == "1" and b.get("cpu_time"):
            for key in ("FLOPs", "Bytes"):
                if key in b:
                    b[key] *= b["real_time"] / b["cpu_time"]
        runs.setdefault(name, []).append(b)
    return data["context"], runs

def median_rows(runs):
    return {name: {key: statistics.median(b[key] for b in bs)
                   for key in ("FLOPs", "Bytes") if all(key in b for b in bs)}
            for name, bs in runs.items()}

ctx, machine_runs = medians(sys.argv[1])
machine = median_rows(machine_runs)
runs = {}
for path in sys.argv[2:]:
    dot = "/gemm_smooth_dot_" in path
    rename = (lambda n: n.replace("gemm/smooth_bf16/", "gemm/smooth_dot/")) if dot else None
    for name, bs in medians(path, rename)[1].items():
        runs.setdefault(name, []).extend(bs)
gemm = median_rows(runs)
def g(rows, name, key, scale):
    b = rows.get(name)
    return b[key] / scale if b and key in b else None

bw4k = g(machine, "machine/read_bw/pages:4k", "Bytes", 1e9)
bwhuge = g(machine, "machine/read_bw/pages:huge", "Bytes", 1e9)
f32peak = g(machine, "machine/f32_fma512_peak", "FLOPs", 1e9) or g(machine, "machine/f32_fma_peak", "FLOPs", 1e9)
bf16peak = g(machine, "machine/bf16_widen_fma_peak", "FLOPs", 1e9)
dotpeak = g(machine, "machine/bf16_dot_peak", "FLOPs", 1e9)
fmt = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
timing = "CPU time of the calling thread" if os.environ.get("XY_BENCH_CPU_TIME") == "1" else "wall time"
print(f"\nMachine ({ctx.get('xy_threads', '?')} threads, rates from {timing}; {ctx.get('xy_cpu_features', '')}; "
      f"host {ctx.get('host_name', '?')}, load avg {ctx.get('load_avg', '?')})")
print(f"  read bandwidth 4 KiB pages {fmt(bw4k)} GB/s, huge pages {fmt(bwhuge)} GB/s")
print(f"  f32 FMA peak {fmt(f32peak)} GFLOP/s, bf16 peak (AVX2 widen+FMA) {fmt(bf16peak)} GFLOP/s, "
      f"vdpbf16ps peak {fmt(dotpeak)} GFLOP/s")

shapes = {}
for name in gemm:
    m = re.match(r"gemm/([^/]+)/(.+)/M:(\d+)$", name)
    if m:
        shapes.setdefault((m.group(2), int(m.group(3))), {})[m.group(1)] = gemm[name]
hdr = (f"{'shape':<24}{'M':>5} | {'ours bf16':>9} {'dnnl bf16':>9} {'x dnnl':>6} {'dnnl+cvt':>9} "
       f"{'x +cvt':>6} {'%ceil':>6} | "
       f"{'ours f32':>8} {'dnnl f32':>8} {'x dnnl':>6} {'%ceil':>6} | {'oblas f32':>9} {'x oblas':>7}")
print("\nGEMM, GFLOP/s (medians). ours bf16 = bf16 compute (vdpbf16ps, the default for bf16 "
      "checkpoints); ours f32 = exact f32 arithmetic on the same bf16 weights (--compute-dtype f32); "
      "x dnnl = ours / oneDNN in the same numerics; dnnl+cvt = oneDNN bf16 with x converted from "
      "f32 in every call, as ours does (x +cvt = ours / that); x oblas = ours bf16 (else f32) / OpenBLAS sgemm; "
      "%ceil = GB/s of huge-page bandwidth for M <= 8, else GFLOP/s of the mode's peak "
      "(vdpbf16ps, f32 FMA)")
print(hdr)
print("-" * len(hdr))
ratios = {"bf16": [], "bf16_f32in": [], "f32": [], "oblas": []}
for (shape, m) in sorted(shapes, key=lambda k: (k[0], k[1])):
    v = shapes[(shape, m)]
    gf = lambda impl: v[impl]["FLOPs"] / 1e9 if impl in v and "FLOPs" in v[impl] else None
    def ceil(impl, peak):
        if impl not in v or gf(impl) is None:
            return None
        if m <= 8:
            return 100 * v[impl]["Bytes"] / 1e9 / bwhuge if bwhuge and "Bytes" in v[impl] else None
        return 100 * gf(impl) / peak if peak else None
    ratio = lambda a, b: a / b if a and b else None
    x_bf16 = ratio(gf("smooth_dot"), gf("dnnl_bf16"))
    x_bf16_f32in = ratio(gf("smooth_dot"), gf("dnnl_bf16_from_f32"))
    x_f32 = ratio(gf("smooth_bf16"), gf("dnnl_f32"))
    x_oblas = ratio(gf("smooth_dot") or gf("smooth_bf16"), gf("openblas_f32"))
    for key, x in (("bf16", x_bf16), ("bf16_f32in", x_bf16_f32in), ("f32", x_f32),
                   ("oblas", x_oblas)):
        if x:
            ratios[key].append(x)
    print(f"{shape:<24}{m:>5} | {fmt(gf('smooth_dot')):>9} {fmt(gf('dnnl_bf16')):>9} "
          f"{fmt(x_bf16, 2):>6} {fmt(gf('dnnl_bf16_from_f32')):>9} {fmt(x_bf16_f32in, 2):>6} "
          f"{fmt(ceil('smooth_dot', dotpeak), 0):>6} | "
          f"{fmt(gf('smooth_bf16')):>8} {fmt(gf('dnnl_f32')):>8} {fmt(x_f32, 2):>6} "
          f"{fmt(ceil('smooth_bf16', f32peak), 0):>6} | {fmt(gf('openblas_f32')):>9} {fmt(x_oblas, 2):>7}")
gm = lambda r: math.exp(sum(map(math.log, r)) / len(r)) if r else None
summary = lambda key: (f"geomean {fmt(gm(ratios[key]), 2)}x, "
                       f"min {fmt(min(ratios[key]) if ratios[key] else None, 2)}x over {len(ratios[key])} cells")
print(f"\nours bf16 / oneDNN bf16: {summary('bf16')}")
print(f"ours bf16 / oneDNN bf16 converting x from f32 in the call: {summary('bf16_f32in')}")
print(f"ours f32 / oneDNN f32:   {summary('f32')}")
print(f"ours / OpenBLAS sgemm:   {summary('oblas')}")
PY
