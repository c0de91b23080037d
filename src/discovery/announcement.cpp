#include "discovery/announcement.hpp"

#include <algorithm>
#include <limits>

#include <google/protobuf/io/coded_stream.h>

#include "datafold.pb.h"

namespace datafold::net::discovery {

namespace {

std::span<const std::uint8_t> as_bytes(const std::string& s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

const std::array<std::uint8_t, 4>& magic_for(DatagramKind kind) noexcept {
  return kind == DatagramKind::Probe ? kProbeMagic : kAnnouncementMagic;
}

// Well-formed UTF-8 as Unicode defines it (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // range of the first continuation byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return false;
    }
    i += extra + 1;
  }
  return true;
}

// Walks the NodeAnnouncement wire format and checks its string fields
// (addresses = 4, network_name = 8) are UTF-8, before the generated parser
// sees them: it would reject them too, but it also writes a log line for each,
// and a hostile sender must not be able to fill the operator's log.
bool strings_are_utf8(const std::string& body) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(body.data()),
                                             static_cast<int>(body.size()));
  std::string value;
  while (true) {
    const std::uint32_t tag = in.ReadTag();
    if (tag == 0) return in.CurrentPosition() == static_cast<int>(body.size());
    const std::uint32_t field = tag >> 3;
    switch (tag & 7) {
      case 0: {
        std::uint64_t ignored;
        if (!in.ReadVarint64(&ignored)) return false;
        break;
      }
      case 1: {
        std::uint64_t ignored;
        if (!in.ReadLittleEndian64(&ignored)) return false;
        break;
      }
      case 5: {
        std::uint32_t ignored;
        if (!in.ReadLittleEndian32(&ignored)) return false;
        break;
      }
      case 2: {
        std::uint32_t length;
        if (!in.ReadVarint32(&length)) return false;
        if (length > body.size()) return false;
        if (field == 4 || field == 8) {
          if (!in.ReadString(&value, static_cast<int>(length)) || !valid_utf8(value)) return false;
        } else if (!in.Skip(static_cast<int>(length))) {
          return false;
        }
        break;
      }
      default:
        return false;  // groups (deprecated) and invalid wire types
    }
  }
}

DatagramParse failed(ParseError error) {
  DatagramParse out;
  out.error = error;
  return out;
}

}  // namespace

std::string_view to_string(ParseError error) noexcept {
  switch (error) {
    case ParseError::None: return "none";
    case ParseError::TooLarge: return "too large";
    case ParseError::BadMagic: return "bad magic";
    case ParseError::BadVersion: return "bad version";
    case ParseError::Malformed: return "malformed";
    case ParseError::BadSignature: return "bad signature";
    case ParseError::IdMismatch: return "id mismatch";
    case ParseError::Refused: return "refused";
  }
  return "unknown";
}

std::string sign_announcement(const AnnouncementFields& fields, const Identity& identity) {
  wire::NodeAnnouncement a;
  const auto& id = identity.node_id().bytes();
  const auto& key = identity.public_key().bytes();
  a.set_node_id(id.data(), id.size());
  a.set_public_key(key.data(), key.size());
  a.set_tcp_port(fields.tcp_port);
  for (const auto& address : fields.addresses) {
    if (static_cast<std::size_t>(a.addresses_size()) == kMaxAddresses) break;
    if (address.size() > kMaxAddressLength) continue;
    a.add_addresses(address);
  }
  a.mutable_capabilities()->set_supports_query(fields.capabilities.supports_query);
  a.mutable_capabilities()->set_supports_schema_listing(fields.capabilities.supports_schema_listing);
  a.mutable_capabilities()->set_dial_back(fields.capabilities.dial_back);
  a.mutable_capabilities()->set_relay(fields.capabilities.relay);
  a.mutable_capabilities()->set_hole_punch(fields.capabilities.hole_punch);
  a.set_min_version(fields.min_version);
  a.set_max_version(fields.max_version);
  a.set_network_name(fields.network_name);
  const auto& instance = fields.instance_id.bytes();
  a.set_instance_id(instance.data(), instance.size());
  a.set_sequence(fields.sequence);
  a.set_timestamp_ms(fields.timestamp_ms);
  a.set_ttl_seconds(fields.ttl_seconds);

  wire::SignedAnnouncement signed_announcement;
  std::string* body = signed_announcement.mutable_announcement();
  a.SerializeToString(body);
  // Signed after serialization: the receiver verifies these exact bytes, so
  // no canonical re-encoding is ever needed.
  const Identity::Signature signature = identity.sign(as_bytes(*body));
  signed_announcement.set_signature(signature.data(), signature.size());
  return signed_announcement.SerializeAsString();
}

std::string frame_datagram(DatagramKind kind, std::string_view signed_announcement) {
  std::string out;
  out.reserve(kDatagramHeaderBytes + signed_announcement.size());
  const auto& magic = magic_for(kind);
  out.append(magic.begin(), magic.end());
  out.push_back(static_cast<char>(kDatagramVersion));
  out.append(signed_announcement);
  return out;
}

std::string encode_datagram(const AnnouncementFields& fields, const Identity& identity,
                            DatagramKind kind) {
  return frame_datagram(kind, sign_announcement(fields, identity));
}

DatagramParse verify_signed_announcement(std::span<const std::uint8_t> bytes, const RefuseNode& refuse) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return failed(ParseError::TooLarge);
  }
  wire::SignedAnnouncement signed_announcement;
  if (!signed_announcement.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return failed(ParseError::Malformed);
  }
  if (signed_announcement.signature().size() != kSignatureBytes) return failed(ParseError::Malformed);

  wire::NodeAnnouncement a;
  const std::string& body = signed_announcement.announcement();
  if (!strings_are_utf8(body) || !a.ParseFromString(body)) return failed(ParseError::Malformed);

  const auto public_key = PublicKey::from_bytes(as_bytes(a.public_key()));
  const auto node_id = NodeId::from_bytes(as_bytes(a.node_id()));
  const auto instance_id = Uuid::from_bytes(as_bytes(a.instance_id()));
  if (!public_key || !node_id || !instance_id) return failed(ParseError::Malformed);
  if (a.tcp_port() > std::numeric_limits<std::uint16_t>::max()) return failed(ParseError::Malformed);
  if (static_cast<std::size_t>(a.addresses_size()) > kMaxAddresses) return failed(ParseError::Malformed);
  for (const auto& address : a.addresses()) {
    if (address.size() > kMaxAddressLength) return failed(ParseError::Malformed);
  }
  if (a.network_name().size() > kMaxNetworkNameLength) return failed(ParseError::Malformed);
  // A banned node's claims are dropped unverified: its announcements cost no signature check.
  if (refuse && refuse(*node_id)) return failed(ParseError::Refused);

  // The signature before the id check: an id mismatch is only worth reporting
  // (and counting separately) when the key really signed the claim.
  if (!public_key->verify(as_bytes(body), as_bytes(signed_announcement.signature()))) {
    return failed(ParseError::BadSignature);
  }
  if (NodeId::from_public_key(public_key->bytes()) != *node_id) return failed(ParseError::IdMismatch);

  DatagramParse out;
  AnnouncementFields& f = out.fields;
  f.node_id = *node_id;
  f.public_key = *public_key;
  f.tcp_port = static_cast<std::uint16_t>(a.tcp_port());
  f.addresses.assign(a.addresses().begin(), a.addresses().end());
  f.capabilities.supports_query = a.capabilities().supports_query();
  f.capabilities.supports_schema_listing = a.capabilities().supports_schema_listing();
  f.capabilities.dial_back = a.capabilities().dial_back();
  f.capabilities.relay = a.capabilities().relay();
  f.capabilities.hole_punch = a.capabilities().hole_punch();
  f.min_version = a.min_version();
  f.max_version = a.max_version();
  f.network_name = a.network_name();
  f.instance_id = *instance_id;
  f.sequence = a.sequence();
  f.timestamp_ms = a.timestamp_ms();
  f.ttl_seconds = a.ttl_seconds();
  return out;
}

DatagramParse parse_datagram(std::span<const std::uint8_t> datagram, const RefuseNode& refuse) {
  if (datagram.size() > kMaxDatagramBytes) return failed(ParseError::TooLarge);
  if (datagram.size() < kDatagramHeaderBytes) return failed(ParseError::BadMagic);

  DatagramKind kind;
  if (std::equal(kAnnouncementMagic.begin(), kAnnouncementMagic.end(), datagram.begin())) {
    kind = DatagramKind::Announcement;
  } else if (std::equal(kProbeMagic.begin(), kProbeMagic.end(), datagram.begin())) {
    kind = DatagramKind::Probe;
  } else {
    return failed(ParseError::BadMagic);
  }
  if (datagram[4] != kDatagramVersion) return failed(ParseError::BadVersion);

  DatagramParse out = verify_signed_announcement(datagram.subspan(kDatagramHeaderBytes), refuse);
  out.kind = kind;
  return out;
}

}  // namespace datafold::net::discovery
