#!/usr/bin/env python3
"""Per-cell interleaved comparison of bench_gemm variants (builds, implementations, settings).

This VM's speed drifts by more than most kernel changes within minutes, so running one variant
over all cells and then the next measures the drift. Here every cell runs each variant in turn
(in reverse order in odd rounds), and each variant's minimum over the rounds is compared with
the first variant's.

Usage:
  scripts/bench_gemm_ab.py IMPLS FILTER ROUNDS BIN_A BIN_B
      two builds on the same implementations, e.g. an old and a new bench_gemm
  scripts/bench_gemm_ab.py --variants FILTER ROUNDS VARIANT VARIANT...
      VARIANT = [NAME=VALUE,...:]IMPL@BINARY, e.g. quant_q8_0@build/benchmarks/bench_gemm,
      dnnl_s8@build/benchmarks/bench_gemm or XY_GEMM_ISA=avx512bf16:smooth_bf16@/tmp/bench_gemm;
      the cells are those of the first variant's IMPL, renamed for the others
  FILTER  regex over benchmark names, e.g. '(smollm2-135m|llama-3.2-1b)/lm_head/M:(16|64)/'
Environment: XY_BENCH_THREADS (default 2); XY_GEMM_ISA=avx512bf16 for the bf16 compute mode.
Prints per cell each variant's time and the first's time over it (> 1: faster than the first),
then per variant the geomean of that, and the first's speed over it as a geomean and a minimum
(with its cell): with ours first and a library second, the ratio and worst cell to quote.
"""
import collections
import math
import os
import subprocess
import sys


def parse_variant(label):
    env, spec = {}, label
    if ":" in spec.split("@")[0]:
        settings, spec = spec.split(":", 1)
        for setting in settings.split(","):
            name, value = setting.split("=", 1)
            env[name] = value
    impl, binary = spec.split("@", 1)
    return {"label": label, "impl": impl, "binary": binary, "env": env}


def main() -> int:
    args = sys.argv[1:]
    if len(args) >= 5 and args[0] == "--variants":
        name_filter, rounds = args[1], int(args[2])
        variants = [parse_variant(v) for v in args[3:]]
    elif len(args) == 5:
        impls, name_filter, rounds = args[0], args[1], int(args[2])
        variants = [{"label": b, "impl": None, "binary": b, "env": {"XY_BENCH_IMPLS": impls}} for b in args[3:]]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    base_env = dict(os.environ)
    base_env.setdefault("XY_BENCH_THREADS", "2")

    def env_of(v):
        env = dict(base_env, **v["env"])
        if v["impl"]:
            env["XY_BENCH_IMPLS"] = v["impl"]
        return env

    first = variants[0]
    listed = subprocess.run([first["binary"], "--benchmark_list_tests", "--benchmark_filter=" + name_filter],
                            env=env_of(first), capture_output=True, text=True, check=True).stdout
    prefix = "gemm/" + first["impl"] + "/" if first["impl"] else "gemm/"
    cells = [line.strip() for line in listed.splitlines() if line.startswith(prefix)]
    if not cells:
        print("no benchmark matches " + name_filter, file=sys.stderr)
        return 1

    def name_for(cell, v):
        return cell.replace(prefix, "gemm/" + v["impl"] + "/", 1) if v["impl"] else cell

    times = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in range(rounds):
        for cell in cells:
            for i in (range(len(variants)) if r % 2 == 0 else reversed(range(len(variants)))):
                v = variants[i]
                # Google Benchmark's regex has no escapes: a dot matches itself as [.].
                exact = "--benchmark_filter=^" + name_for(cell, v).replace(".", "[.]") + "$"
                out = subprocess.run([v["binary"], exact], env=env_of(v), capture_output=True, text=True).stdout
                for line in out.splitlines():
                    if line.startswith("gemm/"):
                        times[cell][i].append(float(line.split()[1]))
    logs = collections.defaultdict(list)
    for cell in cells:
        base = min(times[cell][0])
        row = []
        short = cell.split("/min_time")[0][len(prefix):]
        for i in range(len(variants)):
            t = min(times[cell][i]) if times[cell][i] else float("nan")
            row.append(f"{t:10.1f} {base / t:.3f}")
            if math.isfinite(base / t):  # a variant may lack the cell (e.g. a format's shapes)
                logs[i].append((math.log(base / t), short))
        print(f"{short:45s} " + "  ".join(row))
    for i, v in enumerate(variants):
        if not logs[i]:
            print(f"no cell ran for {v['label']}")
            continue
        geomean = math.exp(sum(x for x, _ in logs[i]) / len(logs[i]))
        # The first variant's best cell against this one: its minimum speed-up over this variant.
        worst, worst_cell = min(logs[i], key=lambda e: -e[0])
        print(f"geomean first/this (speed-up over the first): {geomean:.4f}; first over this: "
              f"geomean {1 / geomean:.3f}x, minimum {math.exp(-worst):.3f}x ({worst_cell})  {v['label']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
