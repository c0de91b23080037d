#include "services/query_cursor.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

#include "core/value_codec.hpp"
#include "services/canonical_writer.hpp"

namespace datafold::net::detail {

namespace {

constexpr std::string_view kCursorDomain{"datafold/cursor/v1\0", 19};
constexpr std::uint8_t kCursorVersion = 0x01;

}  // namespace

QueryCursors::QueryCursors() {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("no randomness for the query cursor key");
}

std::array<std::uint8_t, QueryCursors::kTagBytes> QueryCursors::tag(const PublicKey& requester, const Query& query,
                                                                     std::string_view position) const {
  std::vector<std::uint8_t> bytes;
  CanonicalWriter w(bytes);
  w.raw(reinterpret_cast<const std::uint8_t*>(kCursorDomain.data()), kCursorDomain.size());
  w.raw(requester.bytes().data(), requester.bytes().size());
  w.str(query.schema_name);
  w.u32(static_cast<std::uint32_t>(query.fields.size()));
  for (const auto& field : query.fields) w.str(field);
  if (query.filter) {
    w.u8(0x01);
    wire::Value filter;
    (void)encode_value(*query.filter, filter);
    w.value(filter);
  } else {
    w.u8(0x00);
  }
  w.str(position);

  std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), bytes.data(), bytes.size(), mac.data(), &mac_size);
  std::array<std::uint8_t, kTagBytes> out{};
  std::copy_n(mac.begin(), kTagBytes, out.begin());
  return out;
}

std::string QueryCursors::seal(const PublicKey& requester, const Query& query, std::string_view position) const {
  if (position.size() > kMaxPositionBytes) return {};
  const auto t = tag(requester, query, position);
  std::string out;
  out.reserve(1 + position.size() + t.size());
  out.push_back(static_cast<char>(kCursorVersion));
  out.append(position);
  out.append(reinterpret_cast<const char*>(t.data()), t.size());
  return out;
}

std::optional<std::string> QueryCursors::open(const PublicKey& requester, const Query& query,
                                              std::string_view cursor) const {
  if (cursor.size() < 1 + kTagBytes || cursor.size() > 1 + kMaxPositionBytes + kTagBytes) return std::nullopt;
  if (static_cast<std::uint8_t>(cursor.front()) != kCursorVersion) return std::nullopt;
  const std::string_view position = cursor.substr(1, cursor.size() - 1 - kTagBytes);
  const auto expected = tag(requester, query, position);
  // Constant time: a peer must not learn a valid tag byte by byte from timings.
  if (CRYPTO_memcmp(expected.data(), cursor.data() + cursor.size() - kTagBytes, kTagBytes) != 0)
    return std::nullopt;
  return std::string(position);
}

}  // namespace datafold::net::detail
