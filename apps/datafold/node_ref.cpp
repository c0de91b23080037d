#include "node_ref.hpp"

#include <cctype>

namespace datafold::app {

net::NetworkResult<net::NodeId> resolve_node(net::NetworkCore& core, const std::string& text) {
  if (text.empty()) return net::make_error(net::ErrorKind::Config, "empty node reference");
  if (text.find(':') != std::string::npos) return core.connect_to_address(text);
  if (auto exact = net::NodeId::from_string(text)) return *exact;

  net::NodeId match;
  int matches = 0;
  for (const auto& [id, info] : core.known_nodes()) {
    if (id.matches_prefix(text)) {
      match = id;
      ++matches;
    }
  }
  if (matches == 1) return match;
  if (matches > 1)
    return net::make_error(net::ErrorKind::Config, "node prefix '" + text + "' matches " +
                                                       std::to_string(matches) + " nodes; give more characters");
  return net::make_error(net::ErrorKind::Discovery,
                         "no known node matches '" + text + "' (give a node id, a unique prefix, or host:port)");
}

}  // namespace datafold::app
