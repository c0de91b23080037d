// Identity: a node's Ed25519 key pair. Stored as PKCS#8 PEM with mode 0600.
// The private key never leaves this object except through save().
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "datafold/net/error.hpp"
#include "datafold/net/node_id.hpp"
#include "datafold/net/public_key.hpp"

typedef struct evp_pkey_st EVP_PKEY;  // NOLINT: OpenSSL's own forward declaration

namespace datafold::net {

class Identity {
 public:
  using Signature = std::array<std::uint8_t, 64>;

  // A fresh key pair from the OpenSSL CSPRNG.
  static NetworkResult<Identity> generate();
  // From a PKCS#8 PEM file. Config error if unreadable, not Ed25519, or malformed.
  static NetworkResult<Identity> load(const std::filesystem::path& pem_file);
  // From a PKCS#8 PEM string (same checks as load()).
  static NetworkResult<Identity> from_pem(std::string_view pem);
  // load() if the file exists, else generate() and save() it (parent dirs created).
  static NetworkResult<Identity> load_or_create(const std::filesystem::path& pem_file);

  // Writes PKCS#8 PEM, created with mode 0600 (never briefly readable by others).
  NetworkResult<void> save(const std::filesystem::path& pem_file) const;

  const NodeId& node_id() const noexcept { return node_id_; }
  const PublicKey& public_key() const noexcept { return public_key_; }

  Signature sign(std::span<const std::uint8_t> message) const;

  // The OpenSSL key, for building the TLS certificate. Owned by this Identity.
  EVP_PKEY* native_handle() const noexcept { return key_.get(); }

 private:
  explicit Identity(std::shared_ptr<EVP_PKEY> key);

  std::shared_ptr<EVP_PKEY> key_;
  PublicKey public_key_;
  NodeId node_id_;
};

}  // namespace datafold::net
