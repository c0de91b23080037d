// The LAN discovery datagram (DESIGN.md section 10, docs/PROTOCOL.md):
//
//   magic (4 bytes) | version (1 byte, = 1) | SignedAnnouncement (protobuf)
//
// magic "DFLD" is an announcement; "DFLP" is a probe: the prober's own signed
// announcement, sent to the group, asking every node that hears it to answer by
// unicast. A probe needs no message of its own, so receivers learn the prober
// from the same datagram that asks them to answer, and the proto stays as is.
//
// The Ed25519 signature in SignedAnnouncement covers exactly the serialized
// NodeAnnouncement bytes it carries; they are verified before they are parsed
// into anything the caller sees.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "datafold/net/identity.hpp"
#include "datafold/net/node_id.hpp"
#include "datafold/net/node_info.hpp"
#include "datafold/net/public_key.hpp"
#include "datafold/net/uuid.hpp"

namespace datafold::net::discovery {

inline constexpr std::array<std::uint8_t, 4> kAnnouncementMagic{0x44, 0x46, 0x4C, 0x44};  // "DFLD"
inline constexpr std::array<std::uint8_t, 4> kProbeMagic{0x44, 0x46, 0x4C, 0x50};         // "DFLP"
inline constexpr std::uint8_t kDatagramVersion = 1;
inline constexpr std::size_t kDatagramHeaderBytes = 5;
// Checked before any parsing, so a hostile sender cannot make us parse more.
inline constexpr std::size_t kMaxDatagramBytes = 8 * 1024;
// Caps on what one announcement may carry, so a table entry has a bounded size.
inline constexpr std::size_t kMaxAddresses = 16;
inline constexpr std::size_t kMaxAddressLength = 64;
inline constexpr std::size_t kMaxNetworkNameLength = 128;
inline constexpr std::size_t kSignatureBytes = 64;

enum class DatagramKind : std::uint8_t {
  Announcement,  // "DFLD": periodic, first-sight, probe reply or goodbye (ttl 0)
  Probe,         // "DFLP": the prober's announcement; receivers answer it by unicast
};

// A NodeAnnouncement in C++ types.
struct AnnouncementFields {
  NodeId node_id;                       // set from the signing Identity by the encoders
  PublicKey public_key;                 // likewise
  std::uint16_t tcp_port = 0;           // 0: the node does not accept connections
  std::vector<std::string> addresses;   // "ip" or "ip:port"; empty or unspecified means "the sender"
  NodeCapabilities capabilities;
  std::uint32_t min_version = 1;
  std::uint32_t max_version = 1;
  std::string network_name;
  Uuid instance_id;                     // random per process start
  std::uint64_t sequence = 0;           // strictly increasing per instance
  std::int64_t timestamp_ms = 0;        // Unix milliseconds at the sender
  std::uint32_t ttl_seconds = 0;        // 0 = goodbye

  friend bool operator==(const AnnouncementFields&, const AnnouncementFields&) = default;
};

enum class ParseError : std::uint8_t {
  None,
  TooLarge,      // over kMaxDatagramBytes; not parsed at all
  BadMagic,      // neither "DFLD" nor "DFLP" (or shorter than the header)
  BadVersion,    // a version byte this build does not speak
  Malformed,     // not a SignedAnnouncement / NodeAnnouncement, or a field of the wrong size
  BadSignature,  // the signature does not verify with the announced public key
  IdMismatch,    // node_id != SHA-256(public_key)
  Refused,       // claims a node the caller refuses (banned); the signature was not checked
};

// Which node ids a reader drops unverified: the check runs once the id is parsed
// and before the signature, the expensive part. Empty: none.
using RefuseNode = std::function<bool(const NodeId&)>;

std::string_view to_string(ParseError error) noexcept;

// Either a verified announcement (error == None) or why the bytes were rejected.
struct DatagramParse {
  ParseError error = ParseError::None;
  DatagramKind kind = DatagramKind::Announcement;
  AnnouncementFields fields;  // meaningful only when ok()

  bool ok() const noexcept { return error == ParseError::None; }
};

// The serialized SignedAnnouncement for `fields`, signed by `identity`. The node id
// and public key written are the identity's, whatever `fields` holds; addresses
// beyond kMaxAddresses, or longer than kMaxAddressLength, are dropped so the result
// parses (given a network name within kMaxNetworkNameLength).
std::string sign_announcement(const AnnouncementFields& fields, const Identity& identity);

// A whole datagram: header for `kind`, then sign_announcement(fields, identity).
std::string encode_datagram(const AnnouncementFields& fields, const Identity& identity,
                            DatagramKind kind = DatagramKind::Announcement);

// Header for `kind` followed by `signed_announcement` as given, unchecked. For
// tests and tools that need to build datagrams the encoders would refuse to.
std::string frame_datagram(DatagramKind kind, std::string_view signed_announcement);

// Checks a serialized SignedAnnouncement (no datagram header): parses it, verifies
// the signature and that node_id is the hash of public_key. Also used for
// announcements that arrive by other routes (an Envelope, the DHT). Never throws
// on bad input; `kind` is left as Announcement. An id `refuse` names ends as
// Refused before the signature is checked.
DatagramParse verify_signed_announcement(std::span<const std::uint8_t> signed_announcement,
                                         const RefuseNode& refuse = {});

// Checks a whole datagram: size, magic, version, then verify_signed_announcement().
// Does not check network name, timestamp or sequence: those need the receiver's
// state (DiscoveryCore does them).
DatagramParse parse_datagram(std::span<const std::uint8_t> datagram, const RefuseNode& refuse = {});

}  // namespace datafold::net::discovery
