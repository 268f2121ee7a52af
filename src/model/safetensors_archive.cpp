// SafetensorsArchive: one checkpoint (a file, or the shards named by an index), mapped and
// validated up front so that every TensorInfo handed out is safe to read.
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/aligned_buffer.h"
#include "core/mapped_file.h"
#include "model/safetensors.h"
#include "model/safetensors_file.h"

namespace xy {

namespace {

using json = nlohmann::json;

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

bool has_misaligned_tensor(const SafetensorsLayout& layout, const uint8_t* bytes) {
  for (const SafetensorsEntry& e : layout.entries) {
    const uintptr_t address = reinterpret_cast<uintptr_t>(bytes + layout.data_start + e.begin);
    if (e.info.num_bytes > 0 && address % dtype_size(e.info.dtype) != 0) return true;
  }
  return false;
}

class MappedArchive final : public SafetensorsArchive {
 public:
  const TensorInfo* find(const std::string& name) const override {
    const auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, TensorInfo>& tensors() const override { return tensors_; }

  // Maps and validates `path`, adding its tensors; a name already present is an error.
  Status add_file(const std::string& path) {
    XY_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::open(path));
    XY_ASSIGN_OR_RETURN(SafetensorsLayout layout,
                        parse_safetensors_layout(file->data(), file->size(), path));
    Backing backing;
    const uint8_t* bytes = file->data();
    // Writers before safetensors 0.3 did not pad the header, so the data section can start at
    // any offset. Such a file is copied into memory shifted to an 8-byte boundary, which
    // aligns every tensor that the writer laid out widest dtype first.
    if (layout.data_start % 8 != 0 && has_misaligned_tensor(layout, bytes)) {
      const size_t shift = static_cast<size_t>(8 - layout.data_start % 8);
      try {
        backing.copy = AlignedBuffer(file->size() + shift);
      } catch (const std::bad_alloc&) {
        return resource_exhausted("file " + path + ": out of memory copying " +
                                  std::to_string(file->size()) +
                                  " bytes to align its unpadded data section");
      }
      uint8_t* dst = backing.copy.as<uint8_t>() + shift;
      std::memcpy(dst, bytes, file->size());
      bytes = dst;
      file.reset();  // the copy replaces the mapping
    }
    XY_ASSIGN_OR_RETURN(std::vector<TensorInfo> infos,
                        locate_safetensors(std::move(layout), bytes, path));
    for (TensorInfo& info : infos) {
      const auto [it, inserted] = tensors_.emplace(info.name, info);
      if (!inserted) {
        return format_error("tensor '" + info.name + "' appears in both " + it->second.file +
                            " and " + path);
      }
    }
    backing.mapping = std::move(file);
    backings_.push_back(std::move(backing));
    return Status::ok();
  }

 private:
  // What the tensors of one file point into: its mapping, or an aligned copy of it.
  struct Backing {
    std::unique_ptr<MappedFile> mapping;
    AlignedBuffer copy;
  };
  std::vector<Backing> backings_;
  std::map<std::string, TensorInfo> tensors_;
};

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

// Shards must sit next to the index: a name with a path separator could point anywhere.
bool is_plain_file_name(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos && s.find('\0') == std::string::npos;
}

// weight_map of the index: tensor name -> shard file name.
Result<std::map<std::string, std::string>> read_weight_map(const std::string& index_path) {
  XY_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::open(index_path));
  const std::string text(reinterpret_cast<const char*>(file->data()), file->size());
  const json index = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded()) return format_error("file " + index_path + ": not valid JSON");
  if (!index.is_object()) return format_error("file " + index_path + ": must be a JSON object");
  const auto wm = index.find("weight_map");
  if (wm == index.end()) return format_error("file " + index_path + ": missing 'weight_map'");
  if (!wm->is_object()) {
    return format_error("file " + index_path + ": 'weight_map' must be an object");
  }
  std::map<std::string, std::string> out;
  for (const auto& [tensor, shard] : wm->items()) {
    if (!shard.is_string() || !is_plain_file_name(shard.get_ref<const std::string&>())) {
      return format_error("file " + index_path + ": tensor '" + tensor +
                          "': shard must be a file name in the same directory, got " +
                          shard.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    out.emplace(tensor, shard.get<std::string>());
  }
  if (out.empty()) return format_error("file " + index_path + ": 'weight_map' is empty");
  return out;
}

Result<std::unique_ptr<SafetensorsArchive>> open_sharded(const std::string& dir,
                                                         const std::string& index_path) {
  XY_ASSIGN_OR_RETURN(const auto weight_map, read_weight_map(index_path));
  std::map<std::string, std::vector<std::string>> by_shard;  // shard -> tensors listed in it
  for (const auto& [tensor, shard] : weight_map) by_shard[shard].push_back(tensor);

  auto archive = std::make_unique<MappedArchive>();
  for (const auto& [shard, listed] : by_shard) {
    const std::string shard_path = join_path(dir, shard);
    const Status s = archive->add_file(shard_path);
    if (!s.is_ok()) {
      return Status(s.code(), s.message() + " (shard listed in " + index_path + ")");
    }
    for (const std::string& tensor : listed) {
      const TensorInfo* info = archive->find(tensor);
      if (info == nullptr || info->file != shard_path) {
        return format_error("file " + index_path + ": tensor '" + tensor + "' is listed in shard " +
                            shard + " but " + shard_path + " does not contain it");
      }
    }
  }
  return std::unique_ptr<SafetensorsArchive>(std::move(archive));
}

}  // namespace

Result<std::unique_ptr<SafetensorsArchive>> SafetensorsArchive::open_file(const std::string& path) {
  auto archive = std::make_unique<MappedArchive>();
  XY_RETURN_IF_ERROR(archive->add_file(path));
  return std::unique_ptr<SafetensorsArchive>(std::move(archive));
}

Result<std::unique_ptr<SafetensorsArchive>> SafetensorsArchive::open_dir(const std::string& dir) {
  const std::string index_path = join_path(dir, kIndexName);
  std::error_code ec;
  if (std::filesystem::exists(index_path, ec)) return open_sharded(dir, index_path);
  // No index: a single-file checkpoint.
  Result<std::unique_ptr<SafetensorsArchive>> single = open_file(join_path(dir, kSingleName));
  if (!single.is_ok() && single.status().code() == ErrorCode::kNotFound) {
    return not_found("model directory " + dir + ": neither " + kIndexName + " nor " + kSingleName +
                     " exists");
  }
  return single;
}

}  // namespace xy
