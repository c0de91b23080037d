// The first flight of a real datafold TLS client (a TLS 1.3 ClientHello offering
// ALPN datafold/1), for attackers that send a genuine handshake slowly.
#pragma once

#include <string>

namespace datafold::net::testing {

// A fresh ClientHello from a fresh identity; empty if OpenSSL would not make one.
std::string datafold_client_hello();

}  // namespace datafold::net::testing
