// SchemaInfo: what a schema listing tells a peer about one schema.
#pragma once

#include <optional>
#include <string>

namespace datafold::net {

struct SchemaInfo {
  std::string name;
  std::string version;
  std::optional<std::string> description;

  friend bool operator==(const SchemaInfo&, const SchemaInfo&) = default;
};

}  // namespace datafold::net
