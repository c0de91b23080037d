// The self-signed X.509 certificate a node presents in TLS. Its key is the
// node's Ed25519 identity key, so the certificate proves the node id.
// Private to the library.
#pragma once

#include <openssl/x509.h>

#include <memory>
#include <optional>

#include "datafold/net/error.hpp"
#include "datafold/net/identity.hpp"
#include "datafold/net/public_key.hpp"

namespace datafold::net::detail {

struct X509Deleter {
  void operator()(X509* cert) const noexcept { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// X.509 v3, subject and issuer CN = the node id text, random serial, valid from
// an hour ago (to tolerate clock skew) for ten years, signed with the identity key.
// Config error (code InternalError) if OpenSSL fails.
NetworkResult<X509Ptr> make_self_signed_certificate(const Identity& identity);

// The raw Ed25519 key in `cert`; nullopt if `cert` is null or its key is not Ed25519.
// Says nothing about the signature: TLS has already checked possession of the key.
std::optional<PublicKey> public_key_of_certificate(X509* cert);

}  // namespace datafold::net::detail
