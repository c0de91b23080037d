// A relayed address: how a node that cannot be dialled says where it can be reached
// through a relay (DESIGN.md section 10.3). Text form, in announcements and NodeInfo:
//
//   relay:<relay node id, its first 8 base32 characters or more>@<relay host:port>
//
// Announcements cap an address at 64 bytes (discovery/announcement.hpp), and a whole
// node id (52 characters) with an IPv6 address would not fit; 8 characters (40 bits)
// still tell the relay from others. The relay's identity is not what protects the
// circuit — the two ends' own TLS does — so a prefix is enough.
// Nodes that do not know the form skip it as they skip any address they cannot
// parse, so it travels in the announcement's ordinary address list.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "datafold/net/host_port.hpp"
#include "datafold/net/node_id.hpp"

namespace datafold::net::detail {

inline constexpr std::string_view kRelayedAddressPrefix = "relay:";
// The id prefix a node writes in its relayed addresses.
inline constexpr std::size_t kRelayIdPrefixLength = 8;

struct RelayedAddress {
  std::string relay;  // a prefix of the relay's node id (base32), kRelayIdPrefixLength or more
  HostPort address;   // where the relay listens

  static RelayedAddress of(const NodeId& relay, HostPort address);
  // True when `id` is the relay this address names.
  bool names(const NodeId& id) const { return id.to_string().starts_with(relay); }
  std::string to_string() const;
};

// True when `text` is meant as a relayed address (even a malformed one).
inline bool is_relayed_address(std::string_view text) { return text.starts_with(kRelayedAddressPrefix); }

// nullopt when `text` is not a well-formed relayed address.
std::optional<RelayedAddress> parse_relayed_address(std::string_view text);

}  // namespace datafold::net::detail
