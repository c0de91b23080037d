// TlsConnection's handshake (DESIGN.md section 6, PROTOCOL.md section 5): TLS 1.3
// with the peer's key checked, then the Hello both ways, all under one deadline.
#include "transport/tls_connection.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "core/ip_address.hpp"
#include "transport/tls_connection_parts.hpp"
#include "transport/tls_context.hpp"

namespace datafold::net::detail {

asio::awaitable<NetworkResult<Message>> TlsConnection::read_one_message() {
  std::span<const std::uint8_t> payload;
  for (;;) {
    switch (decoder_.next(payload)) {
      case FrameDecoder::Status::Frame:
        co_return decode_envelope(payload);
      case FrameDecoder::Status::TooLarge:
        co_return make_error(ErrorKind::Protocol, "handshake frame too large", ErrorCode::ProtocolError);
      case FrameDecoder::Status::NeedMore:
        break;
    }
    // The Hello is waited for holding the buffer: the handshake's deadline bounds it.
    auto [ec, n] = co_await stream_.read_some(decoder_.prepare(kReadChunkBytes));
    if (ec == asio::error::would_block) {
      ec = co_await stream_.wait_readable();
      if (!ec) continue;
    }
    if (ec) co_return connection_error("connection lost during handshake", ec);
    decoder_.commit(n);
  }
}

asio::awaitable<NetworkResult<void>> TlsConnection::write_now(const Message& message) {
  std::string frame;
  append_frame(message, frame);
  auto [ec, n] = co_await stream_.write_all(bytes_of(frame));
  if (ec) co_return connection_error("connection lost during handshake", ec);
  co_return NetworkResult<void>{};
}

asio::awaitable<NetworkResult<void>> TlsConnection::handshake(HandshakeParams params) {
  auto self = shared_from_this();
  bool& timed_out = handshake_timed_out_;
  relayed_via_ = params.relayed_via;
  // One deadline for the whole handshake: TLS, then Hello both ways. The watchdog
  // closes the socket, which ends whichever operation is waiting.
  health_timer_.expires_after(params.timeout);
  health_timer_.async_wait([self](std::error_code ec) {
    if (ec || self->state() != ConnectionState::Handshaking) return;
    self->handshake_timed_out_ = true;
    std::error_code ignored;
    self->stream_.lowest_layer().close(ignored);
  });
  auto fail = [&](NetworkError error) -> NetworkResult<void> {
    health_timer_.cancel();
    std::error_code ignored;
    stream_.lowest_layer().close(ignored);
    state_ = ConnectionState::Closed;
    if (timed_out)
      return make_error(ErrorKind::Timeout,
                        "handshake with " + remote_address_ + " did not finish within " +
                            std::to_string(params.timeout.count()) + " ms",
                        ErrorCode::Timeout);
    return error;
  };

  if (!inbound_ && stream_.native_handle() != nullptr) configure_client(stream_.native_handle());
  const auto tls_ec = co_await stream_.handshake(inbound_);
  if (tls_ec) {
    const bool tls_refused = tls_ec.category() == asio::error::get_ssl_category();
    co_return fail(make_error(tls_refused ? ErrorKind::Authentication : ErrorKind::Connection,
                              "TLS handshake with " + remote_address_ + " failed: " + tls_ec.message(),
                              tls_refused ? ErrorCode::AuthenticationFailed : ErrorCode::None));
  }
  if (!negotiated_datafold_alpn(stream_.native_handle()))
    co_return fail(make_error(ErrorKind::Protocol, "peer does not speak datafold/1 (ALPN)",
                              ErrorCode::ProtocolError));
  auto key = detail::peer_public_key(stream_.native_handle());
  if (!key)
    co_return fail(make_error(ErrorKind::Authentication, "peer presented no Ed25519 key",
                              ErrorCode::AuthenticationFailed));
  peer_key_ = *key;
  peer_id_ = key->node_id();
  // All OpenSSL was needed for is done: from here the records are this
  // connection's own, and the session's memory goes.
  if (std::string why; !stream_.take_over_records(inbound_, why))
    co_return fail(make_error(ErrorKind::Protocol, "TLS with " + remote_address_ + ": " + why,
                              ErrorCode::ProtocolError));
  if (params.expected_peer && *params.expected_peer != peer_id_)
    co_return fail(make_error(ErrorKind::Authentication,
                              "dialled node " + params.expected_peer->short_string() + " at " +
                                  remote_address_ + " but the peer proved it is " +
                                  peer_id_.short_string(),
                              ErrorCode::AuthenticationFailed));
  if (params.refuse_peer && params.refuse_peer(peer_id_)) {
    // Told why, once: an operator whose node is refused sees it in the log.
    ErrorMessage refusal;
    refusal.message_id = Uuid::random();
    refusal.code = ErrorCode::PermissionDenied;
    refusal.message = "node " + peer_id_.short_string() + " is banned here";
    (void)co_await write_now(refusal);
    co_return fail(make_error(ErrorKind::Authentication, refusal.message, ErrorCode::PermissionDenied));
  }

  HelloMessage ours;
  ours.message_id = Uuid::random();
  ours.min_version = params.min_version;
  ours.max_version = params.max_version;
  ours.node_id = params.local_id;
  ours.listen_port = params.listen_port;
  ours.capabilities = params.capabilities;
  ours.agent = params.agent;
  ours.network_name = params.network_name;
  // Where the peer's connection comes from, as this side sees it: behind a NAT,
  // the peer learns its public address from a few of these (ObservedAddresses).
  // Over a relay the socket's peer is the relay, which says nothing about the peer.
  std::error_code endpoint_ec;
  const auto peer_endpoint = stream_.lowest_layer().remote_endpoint(endpoint_ec);
  if (!endpoint_ec && !params.relayed_via) ours.observed_address = format_peer_endpoint(peer_endpoint);
  ours.dial_back_probe = params.dial_back_probe;
  ours.mapped_address = params.mapped_address;
  if (auto sent = co_await write_now(ours); !sent) co_return fail(std::move(sent).error());

  auto received = co_await read_one_message();
  if (!received) co_return fail(std::move(received).error());
  if (auto* refusal = std::get_if<ErrorMessage>(&*received))
    co_return fail(make_error(kind_for_remote_code(refusal->code),
                              "peer refused the handshake: " + refusal->message, refusal->code));
  auto* hello = std::get_if<HelloMessage>(&*received);
  if (hello == nullptr)
    co_return fail(make_error(ErrorKind::Protocol, "peer's first message was not a Hello",
                              ErrorCode::ProtocolError));

  auto refuse = [&](ErrorCode code, ErrorKind kind, std::string text) -> asio::awaitable<NetworkResult<void>> {
    ErrorMessage error;
    error.message_id = Uuid::random();
    error.code = code;
    error.message = text;
    error.related_message_id = hello->message_id;
    (void)co_await write_now(error);
    co_return fail(make_error(kind, std::move(text), code));
  };
  if (hello->node_id != peer_id_)
    co_return co_await refuse(ErrorCode::AuthenticationFailed, ErrorKind::Authentication,
                              "Hello names a node id other than the certificate's key");
  if (hello->network_name != params.network_name)
    co_return co_await refuse(ErrorCode::ProtocolError, ErrorKind::Protocol,
                              "network name mismatch: we are '" + params.network_name +
                                  "', peer is '" + hello->network_name + "'");
  const std::uint32_t version = std::min(params.max_version, hello->max_version);
  if (version < std::max(params.min_version, hello->min_version))
    co_return co_await refuse(
        ErrorCode::UnsupportedVersion, ErrorKind::Protocol,
        "no common protocol version: we speak " + std::to_string(params.min_version) + ".." +
            std::to_string(params.max_version) + ", peer speaks " +
            std::to_string(hello->min_version) + ".." + std::to_string(hello->max_version));

  health_timer_.cancel();
  if (timed_out) co_return fail(make_error(ErrorKind::Timeout, "handshake timed out", ErrorCode::Timeout));
  version_ = version;
  peer_hello_ = std::move(*hello);
  state_ = ConnectionState::Open;
  co_return NetworkResult<void>{};
}

}  // namespace datafold::net::detail
