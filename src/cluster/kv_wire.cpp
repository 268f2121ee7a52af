#include "cluster/kv_wire.h"

#include <cstring>

namespace xy::cluster {

namespace {

constexpr char kMagic[4] = {'X', 'Y', 'K', 'V'};

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_u32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}
uint64_t get_u64(std::string_view in, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

Status check_magic(std::string_view in, const char* what) {
  if (in.size() < 8) return format_error(std::string(what) + ": truncated");
  if (std::memcmp(in.data(), kMagic, 4) != 0)
    return format_error(std::string(what) + ": not an xyserve KV transfer (bad magic)");
  if (get_u32(in, 4) != kKvWireVersion)
    return format_error(std::string(what) + ": version " + std::to_string(get_u32(in, 4)) +
                        ", this build speaks " + std::to_string(kKvWireVersion));
  return Status::ok();
}

uint32_t dtype_code(DType d) {
  switch (d) {
    case DType::kF32:
      return 0;
    case DType::kF16:
      return 1;
    case DType::kBF16:
      return 2;
    case DType::kI8:
      return 3;
  }
  return 0;
}

}  // namespace

std::string encode_pull_request(std::string_view id) {
  std::string out(kMagic, 4);
  put_u32(out, kKvWireVersion);
  put_u32(out, static_cast<uint32_t>(id.size()));
  out.append(id);
  return out;
}

Result<uint32_t> decode_pull_request_head(std::string_view in) {
  XY_RETURN_IF_ERROR(check_magic(in, "KV pull request"));
  if (in.size() < kPullRequestHeaderBytes) return format_error("KV pull request: truncated");
  const uint32_t n = get_u32(in, 8);
  if (n == 0 || n > kMaxTransferIdBytes)
    return format_error("KV pull request: transfer id of " + std::to_string(n) + " bytes");
  return n;
}

Result<std::string> decode_pull_request(std::string_view in) {
  XY_ASSIGN_OR_RETURN(const uint32_t n, decode_pull_request_head(in));
  if (in.size() < kPullRequestHeaderBytes + n) return format_error("KV pull request: truncated id");
  return std::string(in.substr(kPullRequestHeaderBytes, n));
}

std::string encode_response_head(KvWireStatus status, const KvSnapshot* s) {
  std::string out(kMagic, 4);
  put_u32(out, kKvWireVersion);
  put_u32(out, static_cast<uint32_t>(status));
  if (status != KvWireStatus::kOk || s == nullptr) return out;
  put_u32(out, static_cast<uint32_t>(s->layout.num_layers));
  put_u32(out, static_cast<uint32_t>(s->layout.n_kv_heads));
  put_u32(out, static_cast<uint32_t>(s->layout.head_dim));
  put_u32(out, dtype_code(s->layout.dtype));
  put_u32(out, static_cast<uint32_t>(s->num_tokens()));
  const size_t at = out.size();
  out.resize(at + s->tokens.size() * 4);
  for (size_t i = 0; i < s->tokens.size(); ++i) {
    const uint32_t t = static_cast<uint32_t>(s->tokens[i]);
    for (int b = 0; b < 4; ++b) out[at + 4 * i + b] = static_cast<char>((t >> (8 * b)) & 0xff);
  }
  return out;
}

Result<KvWireStatus> decode_response_status(std::string_view in) {
  XY_RETURN_IF_ERROR(check_magic(in, "KV transfer response"));
  if (in.size() < kResponseFixedBytes) return format_error("KV transfer response: truncated");
  const uint32_t status = get_u32(in, 8);
  if (status > 2) return format_error("KV transfer response: status " + std::to_string(status));
  return static_cast<KvWireStatus>(status);
}

Result<ResponseHead> decode_response_head(std::string_view in) {
  ResponseHead h;
  XY_ASSIGN_OR_RETURN(h.status, decode_response_status(in));
  if (h.status != KvWireStatus::kOk) return h;
  if (in.size() < kResponseFixedBytes + kResponseLayoutBytes)
    return format_error("KV transfer response: truncated layout");
  const uint32_t layers = get_u32(in, 12), heads = get_u32(in, 16), dim = get_u32(in, 20),
                 dtype = get_u32(in, 24), tokens = get_u32(in, 28);
  if (layers == 0 || layers > 1024 || heads == 0 || heads > 4096 || dim == 0 || dim > 4096)
    return format_error("KV transfer response: layout " + std::to_string(layers) + " layers x " +
                        std::to_string(heads) + " heads x " + std::to_string(dim) +
                        " is out of range");
  if (dtype > 3) return format_error("KV transfer response: dtype code " + std::to_string(dtype));
  if (tokens == 0 || tokens > uint32_t(kMaxWireTokens))
    return format_error("KV transfer response: " + std::to_string(tokens) + " tokens");
  static constexpr DType kCodes[4] = {DType::kF32, DType::kF16, DType::kBF16, DType::kI8};
  h.layout = {int(layers), int(heads), int(dim), kCodes[dtype]};
  h.num_tokens = int(tokens);
  return h;
}

Result<ResponseHead> accept_response_head(std::string_view in, std::string_view transfer_id,
                                          const KvSnapshotLayout& layout, int num_tokens) {
  XY_ASSIGN_OR_RETURN(ResponseHead h, decode_response_head(in));
  if (h.status == KvWireStatus::kUnknownId)
    return not_found("KV transfer " + std::string(transfer_id) +
                     ": the prefill instance no longer has it (expired or taken)");
  if (h.status != KvWireStatus::kOk) return format_error("KV transfer refused by the sender");
  if (!(h.layout == layout))
    return invalid_argument("KV transfer: the prefill instance sends " + h.layout.describe() +
                            ", this instance's cache is " + layout.describe());
  if (h.num_tokens != num_tokens)
    return invalid_argument("KV transfer: " + std::to_string(h.num_tokens) +
                            " tokens sent, the request has " + std::to_string(num_tokens));
  return h;
}

std::vector<int32_t> decode_token_ids(std::string_view in) {
  std::vector<int32_t> ids(in.size() / 4);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(get_u32(in, 4 * i));
  return ids;
}

std::string encode_response(const KvSnapshot& s) {
  std::string out = encode_response_head(KvWireStatus::kOk, &s);
  for (const auto& layer : s.layers) {
    put_u64(out, layer.size());
    out.append(reinterpret_cast<const char*>(layer.data()), layer.size());
  }
  return out;
}

Result<KvSnapshot> decode_response(std::string_view in) {
  XY_ASSIGN_OR_RETURN(ResponseHead h, decode_response_head(in));
  if (h.status != KvWireStatus::kOk)
    return not_found("KV transfer: the sender has no such transfer (unknown or expired id)");
  size_t at = kResponseFixedBytes + kResponseLayoutBytes;
  const size_t ids_bytes = size_t(h.num_tokens) * 4;
  if (in.size() - at < ids_bytes) return format_error("KV transfer response: truncated token ids");
  KvSnapshot s;
  s.layout = h.layout;
  s.tokens = decode_token_ids(in.substr(at, ids_bytes));
  at += ids_bytes;
  const size_t want = h.layout.layer_bytes(h.num_tokens);
  for (int l = 0; l < h.layout.num_layers; ++l) {
    if (in.size() - at < 8) return format_error("KV transfer response: truncated layer header");
    const uint64_t n = get_u64(in, at);
    at += 8;
    if (n != want)
      return format_error("KV transfer response: layer " + std::to_string(l) + " has " +
                          std::to_string(n) + " bytes, the layout needs " + std::to_string(want));
    if (in.size() - at < n) return format_error("KV transfer response: truncated layer");
    s.layers.emplace_back(in.begin() + at, in.begin() + at + n);
    at += n;
  }
  return s;
}

}  // namespace xy::cluster
