#!/usr/bin/env python3
"""Per-cell interleaved A/B of two bench_gemm binaries (an old and a new build).

This VM's speed drifts by more than most kernel changes within minutes, so running one binary
over all cells and then the other measures the drift. Here every cell runs A then B (B then A
in odd rounds), and each binary's minimum over the rounds is compared.

Usage: scripts/bench_gemm_ab.py IMPLS FILTER ROUNDS BIN_A BIN_B
  IMPLS   XY_BENCH_IMPLS, e.g. smooth_bf16 or quant_q8_0,quant_q4_0
  FILTER  regex over benchmark names, e.g. '(smollm2-135m|llama-3.2-1b)/lm_head/M:(16|64)/'
Environment: XY_BENCH_THREADS (default 2); XY_GEMM_ISA=avx512bf16 for the bf16 compute mode.
Prints per cell A's and B's time and A/B (> 1: B is faster), then the geomean.
"""
import collections
import math
import os
import subprocess
import sys


def main() -> int:
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    impls, name_filter, rounds, bin_a, bin_b = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    env = dict(os.environ, XY_BENCH_IMPLS=impls)
    env.setdefault("XY_BENCH_THREADS", "2")
    listed = subprocess.run([bin_a, "--benchmark_list_tests", "--benchmark_filter=" + name_filter],
                            env=env, capture_output=True, text=True, check=True).stdout
    cells = [line.strip() for line in listed.splitlines() if line.startswith("gemm/")]
    if not cells:
        print("no benchmark matches " + name_filter, file=sys.stderr)
        return 1
    times = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in range(rounds):
        for cell in cells:
            # Google Benchmark's regex has no escapes: a dot matches itself as [.].
            exact = "--benchmark_filter=^" + cell.replace(".", "[.]") + "$"
            for binary in ([bin_a, bin_b] if r % 2 == 0 else [bin_b, bin_a]):
                out = subprocess.run([binary, exact], env=env, capture_output=True, text=True).stdout
                for line in out.splitlines():
                    if line.startswith("gemm/"):
                        times[cell][binary].append(float(line.split()[1]))
    ratios = []
    for cell in cells:
        a, b = min(times[cell][bin_a]), min(times[cell][bin_b])
        ratios.append(a / b)
        print(f"{cell.split('/min_time')[0]:55s} {a:10.1f} {b:10.1f} {a / b:.3f}")
    print(f"geomean A/B time ratio (B speedup): {math.exp(sum(map(math.log, ratios)) / len(ratios)):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
