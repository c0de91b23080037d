#include "core/encoding.hpp"

namespace datafold::net::detail {
namespace {

constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr int kInvalid = -1;

int base32_value(char c) noexcept {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return kInvalid;
}

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return kInvalid;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return kInvalid;
}

// Packs `bits_per_char`-bit symbols into bytes. The bits left over at the end
// must be fewer than one symbol and all zero, or the text is not the canonical
// encoding of any byte string.
template <class ValueOf>
std::optional<std::vector<std::uint8_t>> unpack(std::string_view text, unsigned bits_per_char,
                                                ValueOf value_of) {
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * bits_per_char / 8);
  std::uint32_t acc = 0;
  unsigned bits = 0;
  for (char c : text) {
    const int v = value_of(c);
    if (v == kInvalid) return std::nullopt;
    acc = (acc << bits_per_char) | static_cast<std::uint32_t>(v);
    bits += bits_per_char;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (bits >= bits_per_char || acc != 0) return std::nullopt;
  return out;
}

std::string pack(std::span<const std::uint8_t> bytes, unsigned bits_per_char,
                 std::string_view alphabet) {
  std::string out;
  out.reserve((bytes.size() * 8 + bits_per_char - 1) / bits_per_char);
  const std::uint32_t mask = (1u << bits_per_char) - 1;
  std::uint32_t acc = 0;
  unsigned bits = 0;
  for (std::uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= bits_per_char) {
      bits -= bits_per_char;
      out.push_back(alphabet[(acc >> bits) & mask]);
    }
    acc &= (1u << bits) - 1;
  }
  if (bits > 0) out.push_back(alphabet[(acc << (bits_per_char - bits)) & mask]);
  return out;
}

}  // namespace

std::string base32_encode(std::span<const std::uint8_t> bytes) {
  return pack(bytes, 5, kBase32Alphabet);
}

std::optional<std::vector<std::uint8_t>> base32_decode(std::string_view text) {
  return unpack(text, 5, base32_value);
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  // Three bytes to four symbols into a string sized once: every query's requester key
  // is encoded so (about ten times fewer instructions than pack()'s bit loop).
  std::string out((bytes.size() + 2) / 3 * 4, '=');
  std::size_t in = 0, at = 0;
  for (; in + 3 <= bytes.size(); in += 3, at += 4) {
    const std::uint32_t group = (std::uint32_t{bytes[in]} << 16) | (std::uint32_t{bytes[in + 1]} << 8) | bytes[in + 2];
    out[at] = kBase64Alphabet[group >> 18];
    out[at + 1] = kBase64Alphabet[(group >> 12) & 0x3f];
    out[at + 2] = kBase64Alphabet[(group >> 6) & 0x3f];
    out[at + 3] = kBase64Alphabet[group & 0x3f];
  }
  if (const std::size_t rest = bytes.size() - in; rest > 0) {
    const std::uint32_t group = (std::uint32_t{bytes[in]} << 16) | (rest == 2 ? std::uint32_t{bytes[in + 1]} << 8 : 0);
    out[at] = kBase64Alphabet[group >> 18];
    out[at + 1] = kBase64Alphabet[(group >> 12) & 0x3f];
    if (rest == 2) out[at + 2] = kBase64Alphabet[(group >> 6) & 0x3f];
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  if (padding > 2) return std::nullopt;
  // Any '=' left in the body is rejected by base64_value.
  return unpack(text.substr(0, text.size() - padding), 6, base64_value);
}

std::string hex_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0x0f]);
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> hex_decode(std::string_view text) {
  return unpack(text, 4, hex_value);
}

}  // namespace datafold::net::detail
