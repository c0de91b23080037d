// The TLS 1.3 context a node uses for every connection, both directions: its
// self-signed Ed25519 certificate, mutual authentication, ALPN datafold/1.
#pragma once

#include <memory>
#include <optional>

#include <asio/ssl.hpp>

#include "datafold/net/error.hpp"
#include "datafold/net/identity.hpp"
#include "datafold/net/public_key.hpp"

namespace datafold::net::detail {

NetworkResult<std::shared_ptr<asio::ssl::context>> make_tls_context(const Identity& identity);

// Prepares a client-side SSL object: offers ALPN datafold/1.
void configure_client(SSL* ssl);

// The Ed25519 key the peer proved in the handshake, if any.
std::optional<PublicKey> peer_public_key(SSL* ssl);

// True when the peer agreed to ALPN datafold/1.
bool negotiated_datafold_alpn(SSL* ssl);

}  // namespace datafold::net::detail
