#include "transport/tls_context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <string>

#include "transport/tls_certificate.hpp"
#include "transport/tls_records.hpp"

namespace datafold::net::detail {

namespace {

// ALPN wire format: length-prefixed protocol names.
constexpr unsigned char kAlpnWire[] = {10, 'd', 'a', 't', 'a', 'f', 'o', 'l', 'd', '/', '1'};

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kAlpnWire, sizeof(kAlpnWire), in, in_len) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // a peer that does not speak datafold/1 is refused
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// The ALPN callback runs only when the client offers ALPN, so a client offering none
// would complete the handshake and only then be cut off, told nothing. PROTOCOL.md 1
// refuses it in the handshake, with the alert a client can act on: looked for here,
// when the ClientHello arrives (server side only).
int require_alpn_offer(SSL* ssl, int* alert, void*) {
  const unsigned char* offered = nullptr;
  std::size_t offered_len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &offered,
                                &offered_len) == 1)
    return SSL_CLIENT_HELLO_SUCCESS;  // what it offers is select_alpn's to judge
  *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
  return SSL_CLIENT_HELLO_ERROR;
}

// Every node's certificate is self-signed: what matters is that the peer proves
// the certificate's key, which TLS does, and that the key is Ed25519 so it maps to
// a NodeId. Who that node is, and whether it is the one we dialled, is checked
// after the handshake against the key itself.
int verify_peer(int /*preverified*/, X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 0;  // no chains
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  return cert != nullptr && public_key_of_certificate(cert).has_value() ? 1 : 0;
}

}  // namespace

NetworkResult<std::shared_ptr<asio::ssl::context>> make_tls_context(const Identity& identity) {
  auto cert = make_self_signed_certificate(identity);
  if (!cert) return std::move(cert).error();

  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
  // No record buffers kept between the handshake's flights. No session tickets (no
  // resumption: every connection re-proves its key), and none may be turned on:
  // a server's tickets are sealed under the application keys before
  // TlsSocket::take_over_records starts them at sequence 0, which then refuses.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_num_tickets(native, 0);
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  // After the handshake a connection's records are its own (TlsRecordLayer): it
  // needs the traffic secrets OpenSSL derives.
  offer_traffic_secrets(native);

  if (SSL_CTX_use_certificate(native, cert->get()) != 1 ||
      SSL_CTX_use_PrivateKey(native, identity.native_handle()) != 1 ||
      SSL_CTX_check_private_key(native) != 1)
    return make_error(ErrorKind::Config, "cannot install the node certificate in TLS");

  SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
  SSL_CTX_set_client_hello_cb(native, require_alpn_offer, nullptr);
  SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
  return ctx;
}

void configure_client(SSL* ssl) { SSL_set_alpn_protos(ssl, kAlpnWire, sizeof(kAlpnWire)); }

std::optional<PublicKey> peer_public_key(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  return public_key_of_certificate(cert);
}

bool negotiated_datafold_alpn(SSL* ssl) {
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &proto, &len);
  return len == kAlpnWire[0] && std::memcmp(proto, kAlpnWire + 1, len) == 0;
}

}  // namespace datafold::net::detail
