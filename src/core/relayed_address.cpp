#include "core/relayed_address.hpp"

namespace datafold::net::detail {

std::string RelayedAddress::to_string() const {
  return std::string(kRelayedAddressPrefix) + relay.to_string() + "@" + address.to_string();
}

std::optional<RelayedAddress> parse_relayed_address(std::string_view text) {
  if (!is_relayed_address(text)) return std::nullopt;
  text.remove_prefix(kRelayedAddressPrefix.size());
  const auto at = text.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  // The whole id, not a prefix: a relayed address names exactly one relay.
  auto relay = NodeId::from_string(text.substr(0, at));
  if (!relay || relay->to_string() != text.substr(0, at)) return std::nullopt;
  auto address = parse_host_port(text.substr(at + 1));
  if (!address) return std::nullopt;
  return RelayedAddress{*relay, std::move(*address)};
}

}  // namespace datafold::net::detail
