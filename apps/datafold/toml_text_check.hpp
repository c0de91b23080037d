// A check of a TOML file's text before toml++ reads it.
//
// toml++ 3.3 (Debian 12) reaches __builtin_unreachable — undefined behaviour — when
// it asks whether some non-ASCII characters are whitespace (found by
// fuzz/config_fuzzer: "[" followed by U+013F). TOML 1.0 allows non-ASCII text only
// inside strings and comments, and toml++ asks that question only outside them and
// after a backslash in a string, so text that passes this check never reaches that
// code; text that fails it is invalid TOML anyway.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace datafold::app {

// The 1-based line of the first non-ASCII byte outside a string or comment, or right
// after a backslash (and any spaces or tabs) in a string; nullopt if there is none.
// A UTF-8 byte order mark at the very start is allowed.
std::optional<std::size_t> first_misplaced_non_ascii(std::string_view text);

}  // namespace datafold::app
