#include "cli/default_model.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

namespace xy::cli {

namespace fs = std::filesystem;

namespace {

bool is_checkpoint(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "config.json", ec);
}

// <root>/<build dir>/src/cli/xyserve -> <root>/models; empty when the path cannot be read.
fs::path source_tree_models() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return exe.parent_path().parent_path().parent_path().parent_path() / "models";
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

std::string default_target_model_dir() {
  if (const char* env = std::getenv("XYSERVE_MODEL"); env != nullptr && *env != '\0') {
    if (is_checkpoint(env)) return env;
  }
  if (is_checkpoint("models/xy-target")) return "models/xy-target";
  const fs::path models = source_tree_models();
  if (!models.empty() && is_checkpoint(models / "xy-target")) {
    return (models / "xy-target").string();
  }
  return "";
}

std::string default_draft_model_dir(const std::string& target_dir) {
  if (target_dir.empty()) return "";
  std::error_code ec;
  const fs::path target = fs::weakly_canonical(target_dir, ec);
  if (ec || target.filename() != "xy-target") return "";
  const fs::path draft = target.parent_path() / "xy-draft";
  // Only the shipped pair: the draft must share the target's tokenizer file byte for byte.
  if (!is_checkpoint(draft)) return "";
  if (read_file(draft / "tokenizer.json") != read_file(target / "tokenizer.json")) return "";
  return draft.string();
}

}  // namespace xy::cli
