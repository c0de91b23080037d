// Who may read each field of each schema, as the dashboard shows it:
//   [{"name", "version", "description": s|null,
//     "fields": [{"name", "type": s|null,
//                 "max_distance": n|null (null: anyone, fold_db's NoRequirement),
//                 "readers": [public key or trust-store name, ...] (the explicit allow-list)}]}]
// Read from the store's definitions, so it is what the store enforces, not what a schema
// file may have said in another shape.
#pragma once

#include <vector>

#include <datafold/net/json.hpp>

#include "store/schema_definition.hpp"

namespace datafold::app {

net::Json read_policy_view(const std::vector<store::SchemaDefinition>& schemas);

}  // namespace datafold::app
