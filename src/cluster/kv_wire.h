// The bytes of a KV transfer between instances (prefill -> decode), the same over every
// transport:
//   request   "XYKV" u32 version=1, u32 id length, id bytes
//   response  "XYKV" u32 version=1, u32 status (0 ok, 1 unknown or expired id, 2 refused),
//             then when ok: u32 num_layers, n_kv_heads, head_dim, dtype (0 f32, 1 f16, 2 bf16,
//             3 int8), num_tokens; num_tokens x i32 token ids; then per layer u64 byte count and
//             the layer's bytes (model/kv_snapshot.h), layer 0 first.
// Integers are little-endian. A receiver checks every size against the header before reading,
// so a hostile or truncated peer is an error, never an overrun (fuzz target: fuzz_kv_wire).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/kv_snapshot.h"

namespace xy::cluster {

inline constexpr uint32_t kKvWireVersion = 1;
inline constexpr size_t kMaxTransferIdBytes = 256;
inline constexpr int kMaxWireTokens = 1 << 22;

enum class KvWireStatus : uint32_t { kOk = 0, kUnknownId = 1, kRefused = 2 };

std::string encode_pull_request(std::string_view transfer_id);
inline constexpr size_t kPullRequestHeaderBytes = 12;  // magic, version, id length
// The id length announced by a request's first kPullRequestHeaderBytes, checked.
Result<uint32_t> decode_pull_request_head(std::string_view head);
// Reads a request from the first bytes of `in`. Returns the id, or kFormatError.
Result<std::string> decode_pull_request(std::string_view in);

// The response header, up to and including the token ids.
std::string encode_response_head(KvWireStatus status, const KvSnapshot* snapshot);
// Sizes of a response head's fixed part (magic, version, status) and, for ok, layout fields.
inline constexpr size_t kResponseFixedBytes = 12;
inline constexpr size_t kResponseLayoutBytes = 20;

// The status in a response's fixed part (kResponseFixedBytes).
Result<KvWireStatus> decode_response_status(std::string_view fixed);

struct ResponseHead {
  KvWireStatus status = KvWireStatus::kOk;
  KvSnapshotLayout layout;
  int num_tokens = 0;
};
// Parses the fixed part + layout (kResponseFixedBytes + kResponseLayoutBytes when ok). Every
// field is range-checked; kFormatError says which.
Result<ResponseHead> decode_response_head(std::string_view in);

// A receiver's reading of a response head (the fixed part, plus the layout when the status is
// ok), against what it can use: kNotFound (unknown or expired id), kFormatError (refused, or bad
// bytes), kInvalidArgument (a layout or token count other than `layout` / `num_tokens`). It
// refuses before any K/V has been read. Every transport's receiver goes through it.
Result<ResponseHead> accept_response_head(std::string_view in, std::string_view transfer_id,
                                          const KvSnapshotLayout& layout, int num_tokens);
// in.size() / 4 little-endian token ids.
std::vector<int32_t> decode_token_ids(std::string_view in);

// A whole response in one buffer (tests, fuzzing): head, token ids, layers.
std::string encode_response(const KvSnapshot& snapshot);
Result<KvSnapshot> decode_response(std::string_view in);

}  // namespace xy::cluster
