#include "datafold/net/node_info.hpp"

namespace datafold::net {

std::string_view to_string(NodeHealth health) noexcept {
  switch (health) {
    case NodeHealth::Unknown: return "unknown";
    case NodeHealth::Healthy: return "healthy";
    case NodeHealth::Unreachable: return "unreachable";
  }
  return "unknown";
}

}  // namespace datafold::net
