// `xyserve tune`: profiles SmoothGEMM on a model's real linear shapes (fused QKV, o_proj, fused
// gate/up, down_proj, lm_head) for M from 1 up to the step budget, on the worker pool the model
// will use, and writes the fastest (micro-kernel, task order) per (shape, M bucket) as the tune
// table Model::load reads (default <model>/xyserve-gemm-tune.json). Timing runs on random data
// of the model's shapes; the checkpoint itself is only opened to learn its weight dtype.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/model_session.h"
#include "core/mapped_file.h"
#include "core/worker_pool.h"
#include "kernels/cpu/gemm_tuner.h"
#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_model.h"
#include "model/model_config.h"
#include "model/safetensors.h"

namespace xy::cli {

namespace {

struct TuneArgs {
  std::string model_dir;
  std::string out;
  std::string cache_dir;
  std::string dtype = "auto";  // panel dtype: auto (as the checkpoint's embedding) | f32 | bf16
  int max_tokens = 512;
  int threads = 0;
  int repeats = 5;
  std::string gemm_isa;  // empty: cpu::default_gemm_isa()
};

// M values to profile: every height up to the largest tile (so each micro-kernel's exact fit is
// seen), then multiples of that tile growing by ~1.5x, then the budget itself. Each value is the
// m_max of a tune-table bucket.
std::vector<int> tune_ms(int max_tokens) {
  std::vector<int> ms;
  for (int m = 1; m <= 6 && m <= max_tokens; ++m) ms.push_back(m);
  for (int m = 12; m < max_tokens; m = (m * 3 / 2 + 5) / 6 * 6) ms.push_back(m);
  if (ms.back() != max_tokens) ms.push_back(max_tokens);
  return ms;
}

// The config of a checkpoint directory or of a GGUF file (`gguf_path` receives the file).
Result<ModelConfig> config_of(const std::string& model, std::string* gguf_path) {
  if (!gguf::find_gguf(model, gguf_path)) return load_model_config(model);
  XY_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> map, MappedFile::open(*gguf_path));
  XY_ASSIGN_OR_RETURN(gguf::File file, gguf::parse_file(map->data(), map->size(), *gguf_path));
  return gguf::model_config_from_gguf(file, *gguf_path);
}

// The packed panel dtype Model::load will choose for this checkpoint and --dtype. A GGUF file's
// quantized matrices run on QuantGEMM, whose fixed tiles take no table; its SmoothGEMM panels are
// bf16 (a `--dtype bf16` load, or F16/BF16 matrices).
Result<DType> panel_dtype(const TuneArgs& a, bool gguf) {
  if (a.dtype == "auto" && gguf) return DType::kBF16;
  if (a.dtype == "auto") {
    XY_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsArchive> archive,
                        SafetensorsArchive::open_dir(a.model_dir));
    const TensorInfo* embed = archive->find("model.embed_tokens.weight");
    if (embed == nullptr) {
      return not_found(a.model_dir + ": missing tensor 'model.embed_tokens.weight'");
    }
    return embed->dtype == DType::kBF16 ? DType::kBF16 : DType::kF32;
  }
  XY_ASSIGN_OR_RETURN(DType d, parse_dtype_flag(a.dtype, "--dtype"));
  return d == DType::kBF16 ? DType::kBF16 : DType::kF32;
}

// Where Model::load looks: beside config.json, or beside the .gguf file.
std::string model_home(const TuneArgs& a, const std::string& gguf_path) {
  if (gguf_path.empty()) return a.model_dir;
  const std::string dir = std::filesystem::path(gguf_path).parent_path().string();
  return dir.empty() ? "." : dir;
}

std::string output_path(const TuneArgs& a, const std::string& home) {
  if (!a.out.empty()) return a.out;
  if (!a.cache_dir.empty()) {
    // One file per model directory name, so several models can share a cache directory.
    const std::string name =
        std::filesystem::path(a.model_dir).lexically_normal().filename().string();
    return a.cache_dir + "/" + (name.empty() ? "model" : name) + "-xyserve-gemm-tune.json";
  }
  return home + "/xyserve-gemm-tune.json";
}

int run_tune(const TuneArgs& a) {
  auto fail = [](const Status& st) {
    std::fprintf(stderr, "xyserve tune: %s\n", st.message().c_str());
    return 1;
  };
  std::string gguf_path;
  auto config = config_of(a.model_dir, &gguf_path);
  if (!config.is_ok()) return fail(config.status());
  auto storage = panel_dtype(a, !gguf_path.empty());
  if (!storage.is_ok()) return fail(storage.status());
  const ModelConfig& c = *config;
  const std::vector<cpu::GemmShapeKey> shapes =
      cpu::llama_gemm_shapes(c.hidden_size, c.intermediate_size, c.num_attention_heads,
                             c.num_key_value_heads, c.head_dim, c.vocab_size, *storage);
  cpu::GemmTuneOptions options;
  options.ms = tune_ms(a.max_tokens);
  options.repeats = a.repeats;
  if (!a.gemm_isa.empty()) {
    const std::optional<cpu::GemmIsa> isa = cpu::gemm_isa_from_name(a.gemm_isa);
    if (!isa) {
      return fail(invalid_argument("--gemm-isa: unknown SmoothGEMM ISA '" + a.gemm_isa +
                                   "' (use scalar, avx2, avx512 or avx512bf16)"));
    }
    options.isa = *isa;  // tune_smooth_gemm rejects one this CPU cannot run
  }
  WorkerPool pool(WorkerPoolOptions{.num_workers = a.threads});
  std::fprintf(stderr, "tuning %zu shapes x %zu values of M (1..%d), %s panels, %d threads, %s\n",
               shapes.size(), options.ms.size(), a.max_tokens,
               std::string(dtype_name(*storage)).c_str(), pool.num_workers(),
               cpu::gemm_isa_name(options.isa));
  const auto t0 = std::chrono::steady_clock::now();
  auto table = cpu::tune_smooth_gemm(shapes, options, pool);
  if (!table.is_ok()) return fail(table.status());
  const std::string home = model_home(a, gguf_path);
  const std::string path = output_path(a, home);
  if (!a.cache_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.cache_dir, ec);
    if (ec) return fail(io_error("cannot create --cache-dir " + a.cache_dir + ": " + ec.message()));
  }
  const Status saved = table->save(path);
  if (!saved.is_ok()) return fail(saved);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "wrote %zu entries to %s in %.1f s\n", table->entries.size(), path.c_str(),
               secs);
  if (!gguf_path.empty()) {
    std::fprintf(stderr,
                 "note: the file's quantized matrices run on QuantGEMM's fixed tiles; the table "
                 "serves its SmoothGEMM (bf16) matrices and --dtype bf16 loads\n");
  }
  if (path != home + "/xyserve-gemm-tune.json") {
    std::fprintf(stderr, "use it with: --gemm-tune %s\n", path.c_str());
  }
  return 0;
}

}  // namespace

CommandRunner add_tune_command(CLI::App& app) {
  auto a = std::make_shared<TuneArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "Profile SmoothGEMM on a model's shapes and write its GEMM tune table");
  cmd->add_option("--model", a->model_dir, "Hugging Face checkpoint directory or GGUF file")
      ->required();
  cmd->add_option("--max-tokens", a->max_tokens, "Largest M (tokens per step) to profile")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", a->out, "Output file (default: <model>/xyserve-gemm-tune.json)");
  cmd->add_option("--cache-dir", a->cache_dir,
                  "Write <cache-dir>/<model name>-xyserve-gemm-tune.json instead (read-only "
                  "model directories)");
  cmd->add_option("--dtype", a->dtype, "Packed weight dtype to tune: auto|f32|bf16");
  cmd->add_option("--threads", a->threads,
                  "Worker threads (0 = one per CPU; use the serving "
                  "value)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--repeats", a->repeats, "Timed runs per candidate (median counts)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--gemm-isa", a->gemm_isa,
                  "SmoothGEMM kernels to tune: avx512|avx2|scalar|avx512bf16 (default: "
                  "XY_GEMM_ISA, else the best this CPU runs); loads use the table only with the "
                  "same kernels");
  return [a]() { return run_tune(*a); };
}

}  // namespace xy::cli
