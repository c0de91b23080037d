// Text encodings for ids and keys. Private to the library.
// Every decoder is strict: it accepts exactly one spelling per byte string
// (no padding where none is expected, no stray bits, no whitespace), so two
// different texts never name the same id or key.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace datafold::net::detail {

// RFC 4648 base32, lower-case, unpadded.
std::string base32_encode(std::span<const std::uint8_t> bytes);
// Accepts either case; rejects padding, bad characters, impossible lengths and
// non-zero trailing bits.
std::optional<std::vector<std::uint8_t>> base32_decode(std::string_view text);

// RFC 4648 base64, standard alphabet, padded.
std::string base64_encode(std::span<const std::uint8_t> bytes);
// Requires the padding; rejects bad characters and non-zero trailing bits.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

// Lower-case hex.
std::string hex_encode(std::span<const std::uint8_t> bytes);
// Accepts either case; rejects odd lengths and bad characters.
std::optional<std::vector<std::uint8_t>> hex_decode(std::string_view text);

}  // namespace datafold::net::detail
