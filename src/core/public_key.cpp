#include "datafold/net/public_key.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "core/encoding.hpp"
#include "core/openssl_ptr.hpp"

namespace datafold::net {
namespace {

constexpr std::size_t kSignatureSize = 64;

using detail::MdCtxFree;
using detail::PkeyFree;

// OpenSSL wants a non-null pointer even for an empty message.
const unsigned char* data_or_empty(std::span<const std::uint8_t> bytes) noexcept {
  static constexpr unsigned char kEmpty = 0;
  return bytes.empty() ? &kEmpty : bytes.data();
}

}  // namespace

std::optional<PublicKey> PublicKey::from_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kSize) return std::nullopt;
  std::array<std::uint8_t, kSize> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return PublicKey{out};
}

std::optional<PublicKey> PublicKey::from_string(std::string_view text) {
  auto bytes = detail::base64_decode(text);
  if (!bytes) return std::nullopt;
  return from_bytes(*bytes);
}

std::string PublicKey::to_string() const { return detail::base64_encode(bytes_); }

bool PublicKey::verify(std::span<const std::uint8_t> message,
                       std::span<const std::uint8_t> signature) const {
  if (signature.size() != kSignatureSize) return false;
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_.data(), bytes_.size()));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const bool ok =
      key && ctx &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data_or_empty(message),
                       message.size()) == 1;
  // A bad signature is an expected answer, not an error: leave nothing in this
  // thread's OpenSSL error queue for the TLS code to trip over later.
  if (!ok) ERR_clear_error();
  return ok;
}

bool PublicKey::empty() const noexcept {
  return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace datafold::net
