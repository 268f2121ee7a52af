// Run-time CPU feature detection (cpuid + xgetbv) so one x86-64 binary can pick the widest
// kernels the machine and the OS support. Kernels dispatch on these flags in one place each.
#pragma once

#include <string>

namespace xy {

struct CpuFeatures {
  // Each flag is true only when the CPU reports it AND the OS saves the register state it
  // needs (XCR0), so a true flag means the instructions can actually run.
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512bf16 = false;  // vdpbf16ps
  bool avx512vnni = false;
  int logical_cpus = 1;  // CPUs this process may run on (sched_getaffinity), at least 1
  // Bytes of one core's L2 cache as the C library reports it (sysconf), 0 when unknown (a
  // hypervisor may hide it). Kernels size the blocks they keep resident in L2 by it.
  long l2_cache_bytes = 0;

  // The AVX2 GEMM path needs all three.
  bool has_avx2_fma_f16c() const { return avx2 && fma && f16c; }
  // AVX-512 with vdpbf16ps. The AVX-512 SmoothGEMM path needs only f+bw+vl (it widens bf16 to
  // f32 and uses FMAs, see smooth_gemm.h); vdpbf16ps is for a separate, opt-in numerics mode.
  bool has_avx512_bf16() const { return avx512f && avx512bw && avx512vl && avx512bf16; }

  // "avx2 fma f16c" style list of the true flags, for logs and benchmark reports.
  std::string to_string() const;
};

// Detected once (thread-safe) and cached for the life of the process.
const CpuFeatures& cpu_features();

// Detection itself, uncached (tests).
CpuFeatures detect_cpu_features();

}  // namespace xy
