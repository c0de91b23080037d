// A hand-driven TLS client for tests that must send what a well-behaved node
// never would: bad frames, unknown messages, wrong Hellos. Every wait has a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>

#include "datafold/net/identity.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/message_codec.hpp"

namespace datafold::net::testing {

class RawTlsClient {
 public:
  using Millis = std::chrono::milliseconds;

  RawTlsClient();
  const Identity& identity() const { return identity_; }

  // What the next connect offers as ALPN: datafold/1 by default; nullopt offers no ALPN
  // at all, "" likewise, any other text that one protocol id.
  void offer_alpn(std::optional<std::string> protocol) { alpn_ = std::move(protocol); }
  // Why the last connect failed (the TLS alert the node sent, as OpenSSL reports it).
  std::error_code connect_error() const { return connect_error_; }

  // TCP connect and TLS handshake (with ALPN datafold/1). False on failure.
  bool connect(std::uint16_t port, Millis deadline = Millis(5000)) { return connect_from("", port, deadline); }
  // The same from a chosen loopback source address ("127.0.0.2"; empty: the system's
  // choice), so a test can be a second host as the node sees it.
  bool connect_from(const std::string& source_ip, std::uint16_t port, Millis deadline = Millis(5000));
  // Sends our Hello and reads the node's; false unless the node answered with a Hello.
  bool exchange_hello(std::uint32_t min_version = kMinProtocolVersion,
                      std::uint32_t max_version = kMaxProtocolVersion,
                      const std::string& network_name = "datafold-test");

  bool write(std::string_view bytes, Millis deadline = Millis(5000));
  bool send(const Message& message) {
    std::string frame;
    append_frame(message, frame);
    return write(frame);
  }
  // The next message from the node; nullopt on close, timeout or undecodable bytes.
  std::optional<Message> read_message(Millis deadline = Millis(5000));
  // True if the node closes the connection within the deadline (after any messages).
  bool wait_closed(Millis deadline = Millis(5000));
  // The same, reading nothing (what the node sends stays in the socket): true once
  // the node has closed or reset the connection.
  bool wait_closed_unread(Millis deadline);
  const HelloMessage& node_hello() const { return node_hello_; }
  // The port this client's connection comes from (0 when not connected).
  std::uint16_t local_port() const;

  // Leaves without TLS's close_notify, as a peer that quits or crashes does: hang_up
  // sends TCP's FIN (what the node sends can still be read), reset an RST and closes
  // the socket. Neither waits for the node.
  void hang_up();
  void reset();
  // What this client sent that the node's host has not acknowledged yet (SIOCOUTQ),
  // a FIN counting one; nullopt without a connection. At 0, it is all in the node's
  // socket, whether or not the node has read it.
  std::optional<std::size_t> unacknowledged() const;

 private:
  bool read_more(Millis deadline);

  Identity identity_;
  asio::io_context io_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> stream_;
  FrameDecoder decoder_;
  HelloMessage node_hello_;
  bool closed_ = false;
  std::optional<std::string> alpn_{std::string(kAlpnProtocol)};
  std::error_code connect_error_;
};

}  // namespace datafold::net::testing
