// The message protocol: the original design's eight messages plus Hello, as
// C++ values. message_codec.hpp turns them into frames and back;
// docs/PROTOCOL.md specifies the bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "datafold/net/error.hpp"
#include "datafold/net/node_id.hpp"
#include "datafold/net/node_info.hpp"
#include "datafold/net/public_key.hpp"
#include "datafold/net/query.hpp"
#include "datafold/net/schema_info.hpp"
#include "datafold/net/uuid.hpp"

namespace datafold::net {

// Protocol versions this build speaks.
inline constexpr std::uint32_t kMinProtocolVersion = 1;
inline constexpr std::uint32_t kMaxProtocolVersion = 1;
// ALPN protocol id negotiated in the TLS handshake.
inline constexpr std::string_view kAlpnProtocol = "datafold/1";

struct HelloMessage {
  Uuid message_id;
  std::uint32_t min_version = kMinProtocolVersion;
  std::uint32_t max_version = kMaxProtocolVersion;
  NodeId node_id;
  std::uint16_t listen_port = 0;
  NodeCapabilities capabilities;
  std::string agent;
  std::string network_name;
  // The address the sender saw this connection come from, "ip:port" ("[v6]:port"):
  // the receiver's address as seen from outside. "" when not given. Unchecked text
  // from the peer: parse it before use.
  std::string observed_address;
  // The sender dials only to check the receiver can be reached (a DialBack), and
  // closes at once: the receiver does not keep the connection.
  bool dial_back_probe = false;
  // The external address of the sender's port mapping ("ip:port"), "" when it has
  // none: a dialler that dialled it knows its connection runs through the mapping.
  // Unchecked text from the peer, compared, never parsed.
  std::string mapped_address;
};

struct TrustProof {
  PublicKey public_key;
  std::vector<std::uint8_t> signature;  // empty on a direct connection
  std::uint32_t trust_distance = 0;     // claimed
  std::int64_t timestamp_ms = 0;
};

struct QueryMessage {
  Uuid query_id;
  Query query;
  TrustProof trust_proof;
  // > 0: the asker takes the answer in parts, and the answerer may send this many
  // before the asker's first QueryCredit (PROTOCOL.md section 7.8). 0: one reply.
  std::uint32_t stream_window = 0;
};

// The answer to a QueryMessage, or one part of it: parts are numbered from 0 and
// every part but the last has `more` set.
struct QueryResponseMessage {
  Uuid message_id;
  Uuid query_id;  // the QueryMessage this answers
  QueryResult result;
  std::uint32_t part = 0;
  bool more = false;
};

// The asker of a streamed query consumed `parts` more parts (the answerer may send
// that many more), or, with `cancel`, wants no more. No reply.
struct QueryCreditMessage {
  Uuid message_id;
  Uuid query_id;  // the QueryMessage whose answer this paces
  std::uint32_t parts = 0;
  bool cancel = false;
};

struct ListSchemasRequestMessage {
  Uuid request_id;
};

struct SchemaListResponseMessage {
  Uuid message_id;
  Uuid request_id;  // the ListSchemasRequestMessage this answers
  std::vector<SchemaInfo> schemas;
};

// A signed discovery announcement, carried whole so the signature can be checked
// over the exact bytes that were signed.
struct NodeAnnouncementMessage {
  Uuid message_id;
  std::string signed_announcement;  // serialized SignedAnnouncement
};

struct ErrorMessage {
  Uuid message_id;
  ErrorCode code = ErrorCode::InternalError;
  std::string message;
  std::optional<std::string> details;
  std::optional<Uuid> related_message_id;
};

struct PingMessage {
  Uuid message_id;
  std::uint64_t sent_at_us = 0;
};

struct PongMessage {
  Uuid message_id;
  Uuid ping_id;
  std::uint64_t sent_at_us = 0;  // echoed
};

// "Dial me back" (PROTOCOL.md section 14.1): the receiver dials the address the
// request's connection comes from, at `port`, and answers whether it got through.
struct DialBackRequestMessage {
  Uuid request_id;
  std::uint16_t port = 0;
};

struct DialBackResponseMessage {
  Uuid message_id;
  Uuid request_id;  // the DialBackRequestMessage this answers
  bool reachable = false;
  std::string address;  // what was dialled, "ip:port"
  std::string detail;   // why not, when not reachable
};

// A circuit token: what the two ends of a relayed circuit present to the relay.
inline constexpr std::size_t kRelayTokenSize = 32;
using RelayToken = std::array<std::uint8_t, kRelayTokenSize>;

// To a relay, or from one (PROTOCOL.md section 14.2).
struct RelayRequestMessage {
  enum class Kind {
    Reserve,  // keep a reservation for me while this connection lasts
    Connect,  // join me to `node` (a node holding a reservation)
    Invite,   // (relay to reserved node) `node` wants a circuit: join it with `token`
  };
  Uuid request_id;
  Kind kind = Kind::Reserve;
  NodeId node;        // Connect: the target; Invite: the caller
  RelayToken token{};  // Invite only
};

struct RelayResponseMessage {
  enum class Status { Ok = 1, NoReservation = 2, Refused = 3, TargetFailed = 4 };
  Uuid message_id;
  Uuid request_id;  // the RelayRequestMessage this answers
  Status status = Status::Ok;
  std::string message;
  RelayToken token{};                      // Connect OK
  std::uint32_t max_circuit_seconds = 0;   // Reserve OK
  std::uint64_t max_circuit_bytes = 0;     // Reserve OK
};

// Hole punching over a relayed connection (PROTOCOL.md section 14.5).
struct HolePunchMessage {
  enum class Phase { Connect = 1, Sync = 2 };
  Uuid request_id;
  Phase phase = Phase::Connect;
  std::vector<std::string> addresses;  // "ip:port" the sender can be dialled at for the punch
  bool reachable = false;              // the sender's DialBack checks say it can be dialled
};

struct HolePunchResponseMessage {
  Uuid message_id;
  Uuid request_id;  // the HolePunchMessage this answers
  std::vector<std::string> addresses;
  bool reachable = false;
};

// An envelope whose body this build does not know (a newer peer's message).
// It is answered with Error{UnsupportedMessage}; the connection stays.
struct UnknownMessage {
  Uuid message_id;
};

using Message = std::variant<HelloMessage, QueryMessage, QueryResponseMessage,
                             ListSchemasRequestMessage, SchemaListResponseMessage,
                             NodeAnnouncementMessage, ErrorMessage, PingMessage, PongMessage,
                             DialBackRequestMessage, DialBackResponseMessage, RelayRequestMessage,
                             RelayResponseMessage, HolePunchMessage, HolePunchResponseMessage, QueryCreditMessage,
                             UnknownMessage>;

enum class MessageType {
  Hello,
  Query,
  QueryResponse,
  ListSchemasRequest,
  SchemaListResponse,
  NodeAnnouncement,
  Error,
  Ping,
  Pong,
  DialBackRequest,
  DialBackResponse,
  RelayRequest,
  RelayResponse,
  HolePunch,
  HolePunchResponse,
  QueryCredit,
  Unknown,
};

std::string_view to_string(MessageType type) noexcept;
inline MessageType type_of(const Message& m) noexcept { return static_cast<MessageType>(m.index()); }

// The message's own id (every message has one).
Uuid message_id(const Message& m) noexcept;
// The request a reply answers, if the message is a reply (response, Error, Pong),
// or the query a QueryCredit paces.
std::optional<Uuid> related_message_id(const Message& m) noexcept;

}  // namespace datafold::net
