#include "datafold/net/query_refusal.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace datafold::net {

namespace {

bool every_field_is(const QueryResult& answer, SchemaError::Kind kind) {
  return std::all_of(answer.results.begin(), answer.results.end(),
                     [kind](const FieldResult& field) { return !field.ok() && field.error().kind == kind; });
}

NetworkError refusal(ErrorCode code, std::string message) {
  return make_error(kind_for_remote_code(code), std::move(message), code);
}

}  // namespace

std::optional<NetworkError> refusal_of(const QueryResult& answer) {
  if (answer.results.empty()) return std::nullopt;
  const auto& first = answer.results.front();
  if (every_field_is(answer, SchemaError::Kind::NotFound))
    return refusal(ErrorCode::SchemaNotFound, first.error().message);
  if (every_field_is(answer, SchemaError::Kind::InvalidDSL))
    return refusal(ErrorCode::InvalidDsl, first.error().message);

  const bool any_readable = std::any_of(answer.results.begin(), answer.results.end(),
                                        [](const FieldResult& field) { return field.ok(); });
  const bool any_denied = std::any_of(answer.results.begin(), answer.results.end(), [](const FieldResult& field) {
    return !field.ok() && field.error().kind == SchemaError::Kind::InvalidPermission;
  });
  if (any_readable || !any_denied) return std::nullopt;
  // Each distinct reason once: a filter on a denied field puts the same text in every slot.
  std::vector<std::string> reasons;
  for (const auto& field : answer.results)
    if (std::find(reasons.begin(), reasons.end(), field.error().message) == reasons.end())
      reasons.push_back(field.error().message);
  std::string message = "the requester may read nothing it asked for: ";
  for (std::size_t i = 0; i < reasons.size(); ++i) message += (i == 0 ? "" : "; ") + reasons[i];
  return refusal(ErrorCode::PermissionDenied, std::move(message));
}

}  // namespace datafold::net
