// A relayed address: how a node that cannot be dialled says where it can be reached
// through a relay (DESIGN.md section 10.3). Text form, in announcements and NodeInfo:
//
//   relay:<relay node id, base32>@<relay host:port>
//
// Nodes that do not know the form skip it as they skip any address they cannot
// parse, so it travels in the announcement's ordinary address list.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "datafold/net/host_port.hpp"
#include "datafold/net/node_id.hpp"

namespace datafold::net::detail {

inline constexpr std::string_view kRelayedAddressPrefix = "relay:";

struct RelayedAddress {
  NodeId relay;      // who the relay must prove to be
  HostPort address;  // where the relay listens

  std::string to_string() const;
  friend bool operator==(const RelayedAddress& a, const RelayedAddress& b) {
    return a.relay == b.relay && a.address.host == b.address.host && a.address.port == b.address.port;
  }
};

// True when `text` is meant as a relayed address (even a malformed one).
inline bool is_relayed_address(std::string_view text) { return text.starts_with(kRelayedAddressPrefix); }

// nullopt when `text` is not a well-formed relayed address.
std::optional<RelayedAddress> parse_relayed_address(std::string_view text);

}  // namespace datafold::net::detail
