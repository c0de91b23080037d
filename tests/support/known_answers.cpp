#include "support/known_answers.hpp"

#include <atomic>
#include <string>

namespace datafold::net::testing {

const std::vector<SchemaInfo>& known_schemas() {
  static const std::vector<SchemaInfo> schemas = {{"UserProfile", "1", std::string("people")},
                                                  {"Sensor", "3", std::nullopt}};
  return schemas;
}

QueryResult known_answer(const Query& query) {
  QueryResult result;
  result.results.push_back({"schema", Json(query.schema_name)});
  if (query.filter && query.filter->contains("token")) result.results.push_back({"token", query.filter->at("token")});
  if (query.filter && query.filter->contains("padding"))
    result.results.push_back({"padding", Json(std::string(query.filter->at("padding").get<std::size_t>(), 'p'))});
  return result;
}

void serve_known_answers(NetworkCore& node, std::function<void(const Query&)> before_answering) {
  node.set_schema_list_callback([] { return known_schemas(); });
  node.set_query_callback([before = std::move(before_answering)](Query query) {
    if (before) before(query);
    return known_answer(query);
  });
}

::testing::AssertionResult gets_correct_answers(NetworkCore& peer, const NodeId& node) {
  auto schemas = peer.list_available_schemas(node);
  if (!schemas) return ::testing::AssertionFailure() << "schema listing failed: " << schemas.error().to_string();
  if (*schemas != known_schemas())
    return ::testing::AssertionFailure() << "schema listing has " << schemas->size() << " entries, not the known ones";

  // A token never used before, so an answer meant for another request cannot pass.
  static std::atomic<std::int64_t> next_token{1};
  const std::int64_t token = next_token++;
  const Query query{"UserProfile", {"schema", "token"}, "", 0, Json{{"token", token}}};
  auto answer = peer.query_node(node, query);
  if (!answer) return ::testing::AssertionFailure() << "query failed: " << answer.error().to_string();
  if (*answer != known_answer(query))
    return ::testing::AssertionFailure() << "query answered with something else (token " << token << ")";
  return ::testing::AssertionSuccess();
}

}  // namespace datafold::net::testing
