// `xyserve logits`: the float32 logits of every position of a token-id sequence, written as raw
// little-endian [n_tokens, vocab] (parity checks against other implementations, debugging).
#include <charconv>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/model_session.h"

namespace xy::cli {

namespace {

struct LogitsArgs {
  ModelSessionOptions session;
  std::string token_ids;
  std::string out;
};

Result<std::vector<int32_t>> parse_token_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    int32_t id = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size()) {
      return invalid_argument("--token-ids: '" + item +
                              "' is not a token id (expected e.g. 1,2,3)");
    }
    ids.push_back(id);
    pos = comma + 1;
  }
  return ids;
}

}  // namespace

CommandRunner add_logits_command(CLI::App& app) {
  auto args = std::make_shared<LogitsArgs>();
  args->session.weight_dtype = "f32";
  args->session.load_tokenizer = false;
  CLI::App* cmd = app.add_subcommand(
      "logits", "Write the f32 logits of every position of a token sequence ([n, vocab] raw LE)");
  cmd->add_option("--model", args->session.model_dir, "Hugging Face checkpoint directory")
      ->required();
  cmd->add_option("--token-ids", args->token_ids, "Comma-separated token ids, e.g. 1,2,3")
      ->required();
  cmd->add_option("--out", args->out, "Output file")->required();
  add_model_flags(*cmd, args->session);
  return [args]() {
    auto fail = [](const Status& st) {
      std::fprintf(stderr, "xyserve logits: %s\n", st.message().c_str());
      return 1;
    };
    auto ids = parse_token_ids(args->token_ids);
    if (!ids.is_ok()) return fail(ids.status());
    auto session = ModelSession::open(args->session);
    if (!session.is_ok()) return fail(session.status());
    auto logits = (*session)->prefill(*ids, static_cast<int>(ids->size()), /*all_logits=*/true);
    if (!logits.is_ok()) return fail(logits.status());
    std::ofstream f(args->out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(logits->data()),
            static_cast<std::streamsize>(logits->size() * sizeof(float)));
    if (!f) return fail(io_error("cannot write " + args->out));
    std::fprintf(stderr, "wrote [%zu, %d] f32 logits to %s\n", ids->size(),
                 (*session)->model().config().vocab_size, args->out.c_str());
    return 0;
  };
}

}  // namespace xy::cli
