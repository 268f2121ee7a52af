// Unicode normalization forms (UAX #15) and full lowercase mapping, on valid UTF-8. The data
// tables are generated (unicode_tables_data.inc); the algorithm is the standard
// decompose -> canonical order -> compose pipeline, with Hangul handled algorithmically.
#pragma once

#include <string>
#include <string_view>

namespace xy {

enum class NormalizationForm { kNFC, kNFD, kNFKC, kNFKD };

// Precondition: `utf8` is valid UTF-8. Pure ASCII input is returned unchanged without work.
std::string normalize_unicode(std::string_view utf8, NormalizationForm form);

// Full (one-to-many) lowercase mapping per code point, like Python's str.lower() without the
// context-dependent final-sigma rule.
std::string lowercase_unicode(std::string_view utf8);

// The Unicode version the tables were generated from.
const char* unicode_tables_version();

}  // namespace xy
