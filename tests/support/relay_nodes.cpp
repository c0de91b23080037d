#include "support/relay_nodes.hpp"

#include <chrono>

#include "support/test_nodes.hpp"

namespace datafold::net::testing {

std::string wait_for_relayed_address(const NetworkCore& node, std::size_t count) {
  std::string out;
  eventually(
      [&] {
        auto report = node.reachability();
        if (report.relayed_addresses.size() < count) return false;
        out = report.relayed_addresses.front();
        return true;
      },
      std::chrono::seconds(15));
  return out;
}

void know_only_at(NetworkCore& from, const NetworkCore& to, const std::vector<std::string>& addresses) {
  NodeInfo info;
  info.node_id = to.local_node_id();
  info.public_key = to.public_key();
  info.address = addresses.front();
  for (const auto& address : addresses) info.addresses.push_back(NodeAddress{address, AddressSource::Relay, {}, {}});
  from.add_known_node(info);
}

}  // namespace datafold::net::testing
