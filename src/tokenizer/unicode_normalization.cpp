#include "tokenizer/unicode_normalization.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "tokenizer/utf8.h"

namespace xy {
namespace {

struct CombiningClassEntry {
  char32_t cp;
  uint8_t ccc;
};
struct MappingEntry {
  char32_t cp;
  uint32_t offset;  // into the table's pool
  uint32_t length;  // code points
};
struct CompositionEntry {
  char32_t first, second, composite;
};

#include "tokenizer/unicode_tables_data.inc"

// Hangul syllable arithmetic (Unicode ch. 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

uint8_t combining_class(char32_t cp) {
  if (cp < 0x300) return 0;
  const auto* end = std::end(kCombiningClasses);
  const auto* it =
      std::lower_bound(std::begin(kCombiningClasses), end, cp,
                       [](const CombiningClassEntry& e, char32_t c) { return e.cp < c; });
  return it != end && it->cp == cp ? it->ccc : 0;
}

template <size_t N, size_t P>
std::span<const char32_t> lookup_mapping(const MappingEntry (&table)[N], const char32_t (&pool)[P],
                                         char32_t cp) {
  const auto* end = std::end(table);
  const auto* it = std::lower_bound(std::begin(table), end, cp,
                                    [](const MappingEntry& e, char32_t c) { return e.cp < c; });
  if (it == end || it->cp != cp) return {};
  return std::span<const char32_t>(pool + it->offset, it->length);
}

void decompose(char32_t cp, bool compat, std::vector<char32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (cp < 0xA0) {
    out.push_back(cp);
    return;
  }
  // The tables hold full (already recursive) decompositions.
  if (compat) {
    const auto m =
        lookup_mapping(kCompatibilityDecompositions, kCompatibilityDecompositionsPool, cp);
    if (!m.empty()) {
      out.insert(out.end(), m.begin(), m.end());
      return;
    }
  }
  const auto m = lookup_mapping(kCanonicalDecompositions, kCanonicalDecompositionsPool, cp);
  if (!m.empty()) {
    out.insert(out.end(), m.begin(), m.end());
  } else {
    out.push_back(cp);
  }
}

// 0 when the pair has no primary composite.
char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const auto* end = std::end(kCompositions);
  const auto* it =
      std::lower_bound(std::begin(kCompositions), end, std::pair(a, b),
                       [](const CompositionEntry& e, std::pair<char32_t, char32_t> k) {
                         return e.first < k.first || (e.first == k.first && e.second < k.second);
                       });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

// Canonical ordering: a stable sort of every run of non-starters by combining class.
void canonical_order(std::vector<char32_t>& cps) {
  size_t i = 0;
  while (i < cps.size()) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(
        cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(j),
        [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

void canonical_compose(std::vector<char32_t>& cps) {
  if (cps.empty()) return;
  std::vector<char32_t> out;
  out.reserve(cps.size());
  std::ptrdiff_t starter = -1;  // index in `out` of the last starter, -1 before the first one
  int last_class = 0;
  for (char32_t cp : cps) {
    const int cc = combining_class(cp);
    if (starter >= 0) {
      // The starter combines with cp unless a character in between blocks it (same or higher
      // class, or a starter).
      const bool adjacent = static_cast<size_t>(starter) + 1 == out.size();
      if (adjacent || (last_class != 0 && last_class < cc)) {
        if (const char32_t c = compose_pair(out[static_cast<size_t>(starter)], cp); c != 0) {
          out[static_cast<size_t>(starter)] = c;
          continue;
        }
      }
    }
    if (cc == 0) {
      starter = static_cast<std::ptrdiff_t>(out.size());
      last_class = 0;
    } else {
      last_class = cc;
    }
    out.push_back(cp);
  }
  cps.swap(out);
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<uint8_t>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

std::string normalize_unicode(std::string_view utf8, NormalizationForm form) {
  if (is_ascii(utf8)) return std::string(utf8);
  const bool compat = form == NormalizationForm::kNFKC || form == NormalizationForm::kNFKD;
  const bool compose = form == NormalizationForm::kNFC || form == NormalizationForm::kNFKC;
  std::vector<char32_t> cps;
  cps.reserve(utf8.size());
  size_t pos = 0;
  while (pos < utf8.size()) decompose(utf8::decode_at(utf8, pos), compat, cps);
  canonical_order(cps);
  if (compose) canonical_compose(cps);
  std::string out;
  out.reserve(utf8.size());
  for (char32_t cp : cps) utf8::append(out, cp);
  return out;
}

std::string lowercase_unicode(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  size_t pos = 0;
  while (pos < utf8.size()) {
    const char32_t cp = utf8::decode_at(utf8, pos);
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
      continue;
    }
    const auto m = lookup_mapping(kLowercaseMappings, kLowercaseMappingsPool, cp);
    if (m.empty()) {
      utf8::append(out, cp);
    } else {
      for (char32_t c : m) utf8::append(out, c);
    }
  }
  return out;
}

const char* unicode_tables_version() {
  return kUnicodeVersion;
}

}  // namespace xy
