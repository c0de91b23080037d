// A check of a TOML file's text before toml++ reads it.
//
// toml++ 3.3 (Debian 12) reaches __builtin_unreachable — undefined behaviour — when
// it asks whether some non-ASCII characters are whitespace (found by
// fuzz/config_fuzzer: "[" followed by U+013F, "é" after a line-ending backslash, a
// value token running into a quote). It asks that wherever it reads code or
// multi-line strings, and on malformed input it reads further than a simple scanner
// can predict, so the only safe rule is the plain one: non-ASCII characters only in
// comments. No setting needs more: a string may spell any character as \uXXXX.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace datafold::app {

// The 1-based line of the first non-ASCII byte outside a comment, or nullopt. A UTF-8
// byte order mark at the very start is allowed.
std::optional<std::size_t> first_non_ascii_outside_comments(std::string_view text);

}  // namespace datafold::app
