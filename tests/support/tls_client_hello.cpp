#include "support/tls_client_hello.hpp"

#include <memory>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "datafold/net/identity.hpp"
#include "transport/tls_context.hpp"

namespace datafold::net::testing {

std::string datafold_client_hello() {
  auto identity = Identity::generate();
  if (!identity) return {};
  auto context = detail::make_tls_context(*identity);
  if (!context) return {};
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new((*context)->native_handle()), &SSL_free);
  if (!ssl) return {};
  detail::configure_client(ssl.get());
  // Memory BIOs: the handshake writes its first flight there instead of to a socket,
  // then stops, waiting for a ServerHello that never comes.
  BIO* from_server = BIO_new(BIO_s_mem());
  BIO* to_server = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), from_server, to_server);  // ssl owns both now
  SSL_set_connect_state(ssl.get());
  if (SSL_do_handshake(ssl.get()) == 1) return {};
  char* bytes = nullptr;
  const long size = BIO_get_mem_data(to_server, &bytes);
  if (size <= 0) return {};
  return std::string(bytes, static_cast<std::size_t>(size));
}

}  // namespace datafold::net::testing
