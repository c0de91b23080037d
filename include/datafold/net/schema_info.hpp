// SchemaInfo: what a schema listing tells a peer about one schema.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace datafold::net {

// One field of a listed schema, as the node sees it for the requester of the listing:
// what a client needs to write a query it can expect answered (the original design's
// "Node A validates schema availability") without sending it first.
struct SchemaFieldInfo {
  std::string name;
  // The declared type ("string", "number", "integer", "boolean", "object", "array");
  // empty: any JSON value.
  std::string type;
  // Whether this requester may read the field, at its distance and with its key.
  bool readable = false;

  friend bool operator==(const SchemaFieldInfo&, const SchemaFieldInfo&) = default;
};

struct SchemaInfo {
  std::string name;
  std::string version;
  std::optional<std::string> description;
  // Every field of the schema (the reference node: sorted by name). Empty from a node that predates
  // field listings (PROTOCOL.md 7.5), which says nothing about fields.
  std::vector<SchemaFieldInfo> fields{};  // (an initializer, so aggregate initialization may leave it out)

  friend bool operator==(const SchemaInfo&, const SchemaInfo&) = default;
};

}  // namespace datafold::net
