#include "store/sample_data.hpp"

#include <utility>

namespace datafold::store {

namespace {

using net::Json;

Json policy(Json read_policy) {
  return {{"permission_policy",
           {{"read_policy", std::move(read_policy)},
            {"write_policy", {{"Distance", 0}}},
            {"explicit_read_policy", nullptr},
            {"explicit_write_policy", nullptr}}},
          {"type", "string"}};
}

}  // namespace

const Json& sample_schema_json() {
  static const Json kSchema = {
      {"name", kSampleSchemaName},
      {"version", "1"},
      {"description", "Sample user profiles: each field readable at a different trust distance"},
      {"fields",
       {{"username", policy({{"NoRequirement", nullptr}})},
        {"display_name", policy({{"NoRequirement", nullptr}})},
        {"email", policy({{"Distance", 1}})},
        {"phone", policy({{"Distance", 0}})}}}};
  return kSchema;
}

SchemaDefinition sample_schema() {
  // The JSON above is fixed and valid; the unit tests parse it too.
  return schema_from_json(sample_schema_json()).value();
}

// Reserved example domains and 555 numbers: nothing here is real.
const Json& sample_rows() {
  static const Json kRows = Json::array({
      {{"username", "alice"}, {"display_name", "Alice Liddell"},
       {"email", "alice@example.org"}, {"phone", "+1-555-0100"}},
      {{"username", "bob"}, {"display_name", "Bob Stone"},
       {"email", "bob@example.org"}, {"phone", "+1-555-0101"}},
      {{"username", "carol"}, {"display_name", "Carol Reyes"},
       {"email", "carol@example.net"}, {"phone", "+1-555-0102"}},
  });
  return kRows;
}

net::NetworkResult<std::size_t> seed_sample(SqliteStore& store) {
  if (auto added = store.add_schema(sample_schema()); !added) return std::move(added).error();
  auto count = store.count_rows(kSampleSchemaName);
  if (!count) return std::move(count).error();
  if (*count > 0) return std::size_t{0};
  return store.insert_rows(kSampleSchemaName, sample_rows());
}

}  // namespace datafold::store
