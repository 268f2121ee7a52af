#include "kernels/cpu/gemm_tune_table.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace xy::cpu {

namespace {

constexpr const char* kFormat = "xyserve-gemm-tune";
constexpr int kVersion = 1;

// Reads an integer field; returns an error naming where it was looked for.
Status read_int(const nlohmann::json& obj, const char* key, const std::string& where, int lo,
                int hi, int* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return format_error(where + ": missing key '" + key + "'");
  if (!it->is_number_integer()) return format_error(where + ": '" + key + "' must be an integer");
  const long long v = it->get<long long>();
  if (v < lo || v > hi) {
    return format_error(where + ": '" + key + "' = " + std::to_string(v) + " is outside [" +
                        std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  *out = static_cast<int>(v);
  return Status::ok();
}

Status read_string(const nlohmann::json& obj, const char* key, const std::string& where,
                   std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return format_error(where + ": missing key '" + key + "'");
  if (!it->is_string()) return format_error(where + ": '" + key + "' must be a string");
  *out = it->get<std::string>();
  return Status::ok();
}

}  // namespace

const GemmTileConfig* GemmTuneTable::find(const GemmShapeKey& shape, int m) const {
  const GemmTuneEntry* best = nullptr;     // smallest m_max >= m
  const GemmTuneEntry* largest = nullptr;  // fallback for m beyond every bucket
  for (const GemmTuneEntry& e : entries) {
    if (!(e.shape == shape)) continue;
    if (e.m_max >= m && (best == nullptr || e.m_max < best->m_max)) best = &e;
    if (largest == nullptr || e.m_max > largest->m_max) largest = &e;
  }
  if (best == nullptr) best = largest;
  return best != nullptr ? &best->config : nullptr;
}

std::string GemmTuneTable::to_json() const {
  nlohmann::json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["isa"] = isa;
  j["threads"] = threads;
  j["entries"] = nlohmann::json::array();
  for (const GemmTuneEntry& e : entries) {
    j["entries"].push_back({{"n", e.shape.n_rows},
                            {"k", e.shape.k},
                            {"dtype", std::string(dtype_name(e.shape.storage))},
                            {"layout", std::string(weight_layout_name(e.shape.layout))},
                            {"m_max", e.m_max},
                            {"mr", e.config.mr},
                            {"np", e.config.np},
                            {"m_block", e.config.m_block},
                            {"kc", e.config.kc}});
  }
  return j.dump(1);
}

Result<GemmTuneTable> GemmTuneTable::from_json(const std::string& text, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return format_error(source + ": not valid JSON");
  if (!j.is_object()) return format_error(source + ": top level must be an object");
  std::string format;
  XY_RETURN_IF_ERROR(read_string(j, "format", source, &format));
  if (format != kFormat) {
    return format_error(source + ": 'format' is '" + format + "', expected '" + kFormat + "'");
  }
  int version = 0;
  XY_RETURN_IF_ERROR(read_int(j, "version", source, 0, 1 << 20, &version));
  if (version != kVersion) {
    return format_error(source + ": unsupported version " + std::to_string(version));
  }
  GemmTuneTable table;
  XY_RETURN_IF_ERROR(read_string(j, "isa", source, &table.isa));
  XY_RETURN_IF_ERROR(read_int(j, "threads", source, 0, 1 << 16, &table.threads));
  auto entries = j.find("entries");
  if (entries == j.end() || !entries->is_array()) {
    return format_error(source + ": 'entries' must be an array");
  }
  constexpr int kMaxDim = 1 << 30;
  for (size_t i = 0; i < entries->size(); ++i) {
    const nlohmann::json& ej = (*entries)[i];
    const std::string where = source + ": entries[" + std::to_string(i) + "]";
    if (!ej.is_object()) return format_error(where + " must be an object");
    GemmTuneEntry e;
    XY_RETURN_IF_ERROR(read_int(ej, "n", where, 1, kMaxDim, &e.shape.n_rows));
    XY_RETURN_IF_ERROR(read_int(ej, "k", where, 1, kMaxDim, &e.shape.k));
    XY_RETURN_IF_ERROR(read_int(ej, "m_max", where, 1, kMaxDim, &e.m_max));
    XY_RETURN_IF_ERROR(read_int(ej, "mr", where, 1, 64, &e.config.mr));
    XY_RETURN_IF_ERROR(read_int(ej, "np", where, 1, 64, &e.config.np));
    XY_RETURN_IF_ERROR(read_int(ej, "m_block", where, 1, kMaxDim, &e.config.m_block));
    if (ej.contains("kc")) {  // absent in tables written before k-blocking: no k-block
      XY_RETURN_IF_ERROR(read_int(ej, "kc", where, 0, kMaxDim, &e.config.kc));
      if (e.config.kc % 2 != 0) return format_error(where + ": 'kc' must be even");
    }
    if (!is_supported_gemm_kernel(e.config.mr, e.config.np)) {
      return format_error(where + ": no " + std::to_string(e.config.mr) + "x" +
                          std::to_string(16 * e.config.np) + " micro-kernel exists");
    }
    std::string dtype, layout;
    XY_RETURN_IF_ERROR(read_string(ej, "dtype", where, &dtype));
    XY_RETURN_IF_ERROR(read_string(ej, "layout", where, &layout));
    if (dtype == "bf16") {
      e.shape.storage = DType::kBF16;
    } else if (dtype == "f32") {
      e.shape.storage = DType::kF32;
    } else {
      return format_error(where + ": 'dtype' is '" + dtype + "', expected 'bf16' or 'f32'");
    }
    if (layout == "plain") {
      e.shape.layout = WeightLayout::kPlain;
    } else if (layout == "gate_up") {
      e.shape.layout = WeightLayout::kGateUp;
    } else {
      return format_error(where + ": 'layout' is '" + layout + "', expected 'plain' or 'gate_up'");
    }
    table.entries.push_back(e);
  }
  return table;
}

Result<GemmTuneTable> GemmTuneTable::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open GEMM tune table");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return io_error(path + ": read failed");
  return from_json(ss.str(), path);
}

Status GemmTuneTable::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return io_error(tmp + ": cannot open for writing");
    out << to_json() << '\n';
    out.flush();
    if (!out) return io_error(tmp + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return io_error(path + ": cannot rename " + tmp + " into place");
  }
  return Status::ok();
}

}  // namespace xy::cpu
