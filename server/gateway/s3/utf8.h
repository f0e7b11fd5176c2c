#pragma once
// UTF-8 as S3 and protobuf take it. Every proto3 string field must hold valid UTF-8:
// protobuf refuses to parse a record with any other string, so text from a request that is
// kept in a record (tags, lifecycle rules) is checked first. Pure and thread-safe.

#include <cstddef>
#include <optional>
#include <string_view>

namespace mosaic::gateway {

// The number of Unicode characters of `s`; nullopt if it is not valid UTF-8 (overlong
// forms, surrogates and code points past U+10FFFF are not).
std::optional<size_t> Utf8Chars(std::string_view s);

}  // namespace mosaic::gateway
