#!/usr/bin/env bash
# Runs the kernel benchmarks (machine ceilings, then SmoothGEMM vs oneDNN / OpenBLAS) and prints
# a summary table. Usage: scripts/bench_kernels.sh [BUILD_DIR]   (default: build)
# Environment:
#   XY_BENCH_THREADS  threads for every library (default: all CPUs of this process)
#   XY_BENCH_FILTER   regex over gemm benchmark names, e.g. 'smollm2-135m/.*/M:(1|512)/'
#   XY_BENCH_REPS     repetitions; the table uses the median (default 3)
#   XY_BENCH_OUT      directory for the raw JSON (default: BUILD_DIR/bench-results)
#   XY_BENCH_CPU_TIME=1  rates from the calling thread's CPU time instead of wall time: with
#                        XY_BENCH_THREADS=1 this discounts time stolen by other processes on a
#                        busy machine (meaningless with more threads)
set -euo pipefail
build="${1:-build}"
reps="${XY_BENCH_REPS:-3}"
filter="${XY_BENCH_FILTER:-.}"
out="${XY_BENCH_OUT:-$build/bench-results}"
mkdir -p "$out"
for b in bench_machine bench_gemm; do
  if [[ ! -x "$build/benchmarks/$b" ]]; then
    echo "bench_kernels: $build/benchmarks/$b not built (needs libbenchmark-dev; configure with -DXYSERVE_BENCHMARKS=ON)" >&2
    exit 1
  fi
done
common=(--benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true
        --benchmark_format=json)
echo "bench_kernels: machine ceilings ($reps repetitions)..." >&2
"$build/benchmarks/bench_machine" "${common[@]}" > "$out/machine.json"
# One process per library: idle worker threads of one library spin and would slow the next.
for impl in smooth dnnl openblas; do
  echo "bench_kernels: $impl GEMMs matching '$filter' ($reps repetitions)..." >&2
  XY_BENCH_IMPLS=$impl "$build/benchmarks/bench_gemm" "${common[@]}" \
    --benchmark_filter="$filter" > "$out/gemm_$impl.json"
done
python3 - "$out/machine.json" "$out"/gemm_{smooth,dnnl,openblas}.json <<'PY'
import json, math, os, re, sys

def medians(path):
    data = json.load(open(path))
    rows, single = {}, {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            continue
        name = re.sub(r"/(min_time:[^/]*|real_time)", "", b["run_name"])
        if b.get("aggregate_name") == "median":
            rows[name] = b
        elif b.get("run_type") == "iteration":
            single[name] = b  # XY_BENCH_REPS=1: no aggregates are reported
    for name, b in single.items():
        rows.setdefault(name, b)
    if os.environ.get("XY_BENCH_CPU_TIME") == "1":
        for b in rows.values():
            for key in ("FLOPs", "Bytes"):
                if key in b and b.get("cpu_time"):
                    b[key] *= b["real_time"] / b["cpu_time"]
    return data["context"], rows

ctx, machine = medians(sys.argv[1])
gemm = {}
for path in sys.argv[2:]:
    gemm.update(medians(path)[1])
def g(rows, name, key, scale):
    b = rows.get(name)
    return b[key] / scale if b and key in b else None

bw4k = g(machine, "machine/read_bw/pages:4k", "Bytes", 1e9)
bwhuge = g(machine, "machine/read_bw/pages:huge", "Bytes", 1e9)
f32peak = g(machine, "machine/f32_fma_peak", "FLOPs", 1e9)
bf16peak = g(machine, "machine/bf16_widen_fma_peak", "FLOPs", 1e9)
fmt = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
timing = "CPU time of the calling thread" if os.environ.get("XY_BENCH_CPU_TIME") == "1" else "wall time"
print(f"\nMachine ({ctx.get('xy_threads', '?')} threads, rates from {timing}; {ctx.get('xy_cpu_features', '')}; "
      f"host {ctx.get('host_name', '?')}, load avg {ctx.get('load_avg', '?')})")
print(f"  read bandwidth 4 KiB pages {fmt(bw4k)} GB/s, huge pages {fmt(bwhuge)} GB/s")
print(f"  f32 FMA peak {fmt(f32peak)} GFLOP/s, bf16 peak (AVX2 widen+FMA) {fmt(bf16peak)} GFLOP/s")

shapes = {}
for name in gemm:
    m = re.match(r"gemm/([^/]+)/(.+)/M:(\d+)$", name)
    if m:
        shapes.setdefault((m.group(2), int(m.group(3))), {})[m.group(1)] = gemm[name]
hdr = (f"{'shape':<24}{'M':>5} | {'ours bf16':>9} {'GB/s':>6} {'%ceil':>6} | {'ours f32':>8} | "
       f"{'dnnl bf16':>9} {'dnnl f32':>8} {'oblas f32':>9} | {'x dnnl':>6} {'x oblas':>7}")
print("\nGEMM, GFLOP/s (medians); ratios = ours bf16 / best oneDNN and / OpenBLAS; %ceil = GB/s of "
      "huge-page bandwidth for M <= 8, else GFLOP/s of the bf16 peak")
print(hdr)
print("-" * len(hdr))
r_dnnl, r_oblas = [], []
for (shape, m) in sorted(shapes, key=lambda k: (k[0], k[1])):
    v = shapes[(shape, m)]
    gf = lambda impl: v[impl]["FLOPs"] / 1e9 if impl in v else None
    ours = gf("smooth_bf16")
    gbs = v["smooth_bf16"]["Bytes"] / 1e9 if "smooth_bf16" in v else None
    ceil = None
    if ours is not None:
        if m <= 8 and bwhuge:
            ceil = 100 * gbs / bwhuge
        elif m > 8 and bf16peak:
            ceil = 100 * ours / bf16peak
    dn = [x for x in (gf("dnnl_bf16"), gf("dnnl_f32")) if x]
    x_dnnl = ours / max(dn) if ours and dn else None
    x_oblas = ours / gf("openblas_f32") if ours and gf("openblas_f32") else None
    if x_dnnl: r_dnnl.append(x_dnnl)
    if x_oblas: r_oblas.append(x_oblas)
    print(f"{shape:<24}{m:>5} | {fmt(ours):>9} {fmt(gbs):>6} {fmt(ceil, 0):>6} | "
          f"{fmt(gf('smooth_f32')):>8} | {fmt(gf('dnnl_bf16')):>9} {fmt(gf('dnnl_f32')):>8} "
          f"{fmt(gf('openblas_f32')):>9} | {fmt(x_dnnl, 2):>6} {fmt(x_oblas, 2):>7}")
gm = lambda r: math.exp(sum(map(math.log, r)) / len(r)) if r else None
print(f"\nours/oneDNN: geomean {fmt(gm(r_dnnl), 2)}x, min {fmt(min(r_dnnl) if r_dnnl else None, 2)}x; "
      f"ours/OpenBLAS: geomean {fmt(gm(r_oblas), 2)}x, min {fmt(min(r_oblas) if r_oblas else None, 2)}x")
PY
