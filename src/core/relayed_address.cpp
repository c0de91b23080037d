#include "core/relayed_address.hpp"

#include <algorithm>

namespace datafold::net::detail {

namespace {

bool is_base32_text(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); });
}

}  // namespace

RelayedAddress RelayedAddress::of(const NodeId& relay, HostPort address) {
  return RelayedAddress{relay.to_string().substr(0, kRelayIdPrefixLength), std::move(address)};
}

std::string RelayedAddress::to_string() const {
  return std::string(kRelayedAddressPrefix) + relay + "@" + address.to_string();
}

std::optional<RelayedAddress> parse_relayed_address(std::string_view text) {
  if (!is_relayed_address(text)) return std::nullopt;
  text.remove_prefix(kRelayedAddressPrefix.size());
  const auto at = text.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  const auto relay = text.substr(0, at);
  // A whole id is 52 characters; fewer than 8 would name too many nodes.
  if (relay.size() < kRelayIdPrefixLength || relay.size() > NodeId{}.to_string().size() || !is_base32_text(relay))
    return std::nullopt;
  auto address = parse_host_port(text.substr(at + 1));
  if (!address) return std::nullopt;
  return RelayedAddress{std::string(relay), std::move(*address)};
}

}  // namespace datafold::net::detail
