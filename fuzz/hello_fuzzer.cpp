// libFuzzer target for the peer's Hello, the first frame each side reads inside
// TLS. Each input is the body of a protobuf Hello; the fuzzer puts it in an
// envelope and a frame, as a peer would send it, and reads it back the way
// TlsConnection::read_one_message() does: FrameDecoder, then decode_envelope.
//
// The checks after decoding (node id against the certificate's key, network
// name, version negotiation) are written inline in TlsConnection::handshake()
// and cannot run without a TLS socket, so they are not fuzzed here.
//
// Invariants: the codec accepts exactly the Hellos that protobuf's generated code
// parses (at the codec's depth limit) with a 32-byte node id and a port that fits
// in 16 bits, with the same field values; every other input is InvalidMessage;
// what decodes re-encodes to an equal Hello. observed_address (field 8) is
// advisory text the codec passes through unjudged: any UTF-8 value decodes.
// That text then goes where a node sends it, ObservedAddresses::report(): it is
// counted only if it is "ip:port" with an IP that could be public, and nothing
// else is ever believed.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <variant>

#include "datafold.pb.h"
#include "datafold/net/message_codec.hpp"
#include "core/endpoint.hpp"
#include "core/ip_address.hpp"
#include "core/value_codec.hpp"
#include "peers/observed_addresses.hpp"

namespace {

using namespace datafold::net;

void check(bool ok) {
  if (!ok) std::abort();
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bool same_hello(const HelloMessage& a, const HelloMessage& b) {
  return a.message_id == b.message_id && a.min_version == b.min_version && a.max_version == b.max_version &&
         a.node_id == b.node_id && a.listen_port == b.listen_port && a.capabilities == b.capabilities &&
         a.agent == b.agent && a.network_name == b.network_name && a.observed_address == b.observed_address;
}

// The envelope a peer sends: a message id, then the Hello as field 10. Built by
// hand so that the fuzzer's bytes reach the decoder exactly as given.
std::string envelope_around(std::span<const std::uint8_t> hello_body) {
  std::string envelope;
  envelope += '\x0a';  // field 1 (message_id), length-delimited
  envelope += '\x10';  // 16 bytes
  envelope.append(16, '\x11');
  envelope += '\x52';  // field 10 (hello), length-delimited
  for (std::size_t n = hello_body.size();; n >>= 7) {
    const auto low = static_cast<std::uint8_t>(n & 0x7f);
    if (n < 0x80) {
      envelope += static_cast<char>(low);
      break;
    }
    envelope += static_cast<char>(low | 0x80);
  }
  envelope.append(reinterpret_cast<const char*>(hello_body.data()), hello_body.size());
  return envelope;
}

std::string frame_of(const std::string& envelope) {
  const auto n = static_cast<std::uint32_t>(envelope.size());
  std::string frame{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                    static_cast<char>(n)};
  return frame + envelope;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Protobuf logs every string field that is not UTF-8; the fuzzer makes many.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  const std::span<const std::uint8_t> body(data, size);

  // The frame arrives in two reads, split inside the Hello, as TLS records may split it.
  const std::string stream = frame_of(envelope_around(body));
  FrameDecoder frames;
  const std::size_t split = stream.size() / 2;
  frames.feed(bytes_of(stream.substr(0, split)));
  std::span<const std::uint8_t> payload;
  check(frames.next(payload) == FrameDecoder::Status::NeedMore);
  frames.feed(bytes_of(stream.substr(split)));
  check(frames.next(payload) == FrameDecoder::Status::Frame);
  auto decoded = decode_envelope(payload);

  // What protobuf's generated code makes of the same envelope, under the
  // codec's depth limit.
  datafold::wire::Envelope reference;
  google::protobuf::io::CodedInputStream in(payload.data(), static_cast<int>(payload.size()));
  in.SetRecursionLimit(detail::kProtoRecursionLimit);
  const bool protobuf_parses = reference.ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
  check(!protobuf_parses || reference.has_hello());
  const datafold::wire::Hello& wire_hello = reference.hello();
  const bool valid = protobuf_parses && wire_hello.node_id().size() == NodeId::kSize &&
                     wire_hello.listen_port() <= 0xFFFF;
  if (!valid) {
    check(!decoded.ok() && decoded.error().code == ErrorCode::InvalidMessage);
    return 0;
  }
  check(decoded.ok());
  const auto* hello = std::get_if<HelloMessage>(&*decoded);
  check(hello != nullptr);
  check(hello->min_version == wire_hello.min_version() && hello->max_version == wire_hello.max_version());
  check(hello->listen_port == wire_hello.listen_port());
  check(hello->agent == wire_hello.agent() && hello->network_name == wire_hello.network_name());
  check(hello->observed_address == wire_hello.observed_address());
  check(hello->capabilities.supports_query == wire_hello.capabilities().supports_query());
  check(hello->capabilities.supports_schema_listing == wire_hello.capabilities().supports_schema_listing());
  check(std::string(reinterpret_cast<const char*>(hello->node_id.bytes().data()), NodeId::kSize) ==
        wire_hello.node_id());

  // The observed address as a node takes it: three distinct reporters, so a
  // report that counts is believed, and only then.
  datafold::net::detail::ObservedAddresses observed;
  const auto now = datafold::net::detail::ObservedAddresses::TimePoint{};
  using Outcome = datafold::net::detail::ObservedAddresses::Outcome;
  Outcome outcome = Outcome::Malformed;
  for (int reporter = 1; reporter <= 3; ++reporter) {
    std::array<std::uint8_t, NodeId::kSize> id{};
    id.fill(static_cast<std::uint8_t>(reporter));
    outcome = observed.report(NodeId{id}, "192.0.2." + std::to_string(reporter), hello->observed_address, now);
  }
  const auto host_port = detail::parse_host_port(hello->observed_address);
  const auto ip = host_port ? detail::parse_ip(host_port->host) : std::nullopt;
  const bool believable = ip && detail::is_routable_unicast(*ip);
  check((outcome == Outcome::Confirmed) == believable);
  check(observed.confirmed(now).size() == (believable ? 1u : 0u));

  // Our own Hello, sent back with the same fields, reads back the same.
  auto again = decode_envelope(bytes_of(encode_envelope(*hello)));
  check(again.ok());
  const auto* echoed = std::get_if<HelloMessage>(&*again);
  check(echoed != nullptr && same_hello(*echoed, *hello));
  return 0;
}
