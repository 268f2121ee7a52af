// `xyserve quantize`: writes a Hugging Face checkpoint as one GGUF file (llama.cpp's layout and
// names, the chosen weight type), which `--model FILE.gguf` then loads.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "model/gguf/gguf_convert.h"

namespace xy::cli {

namespace {
struct QuantizeArgs {
  std::string model;
  std::string type = "q8_0";
  std::string out;
};
}  // namespace

CommandRunner add_quantize_command(CLI::App& app) {
  auto args = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "quantize", "Write a Hugging Face checkpoint as a GGUF file (f32|f16|bf16|q8_0|q4_0|q4_k_m)");
  cmd->add_option("--model", args->model, "Hugging Face checkpoint directory")->required();
  cmd->add_option("--type", args->type,
                  "Weight type of the matrices: f32, f16, bf16, q8_0, q4_0, q4_k_m")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m"}));
  cmd->add_option("--out", args->out, "Output .gguf file")->required();
  return [args]() {
    Result<gguf::OutType> type = gguf::parse_out_type(args->type);
    if (!type.is_ok()) {
      std::fprintf(stderr, "xyserve quantize: %s\n", type.status().message().c_str());
      return 2;
    }
    Status st = gguf::convert_checkpoint_to_gguf(args->model, args->out, *type);
    if (!st.is_ok()) {
      std::fprintf(stderr, "xyserve quantize: %s\n", st.message().c_str());
      return 1;
    }
    std::printf("wrote %s (%s) from %s\n", args->out.c_str(), args->type.c_str(),
                args->model.c_str());
    return 0;
  };
}

}  // namespace xy::cli
