#include "read_policy_view.hpp"

namespace datafold::app {

net::Json read_policy_view(const std::vector<store::SchemaDefinition>& schemas) {
  net::Json out = net::Json::array();
  for (const auto& schema : schemas) {
    net::Json fields = net::Json::array();
    for (const auto& field : schema.fields) {
      net::Json readers = net::Json::array();
      for (const auto& [key, count] : field.policy.explicit_readers) readers.push_back(key.to_string());
      for (const auto& [name, count] : field.policy.named_readers) readers.push_back(name);
      fields.push_back({{"name", field.name},
                        {"type", field.type ? net::Json(std::string(store::to_string(*field.type))) : net::Json()},
                        {"max_distance", field.policy.max_distance ? net::Json(*field.policy.max_distance) : net::Json()},
                        {"readers", std::move(readers)}});
    }
    out.push_back({{"name", schema.name},
                   {"version", schema.version},
                   {"description", schema.description ? net::Json(*schema.description) : net::Json()},
                   {"fields", std::move(fields)}});
  }
  return out;
}

}  // namespace datafold::app
