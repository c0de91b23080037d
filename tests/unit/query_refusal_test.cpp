#include "datafold/net/query_refusal.hpp"

#include <gtest/gtest.h>

namespace datafold::net {
namespace {

using Kind = SchemaError::Kind;

FieldResult denied(std::string field, std::string why) {
  return {std::move(field), SchemaError{Kind::InvalidPermission, std::move(why)}};
}

TEST(QueryRefusal, EveryFieldNotFoundIsSchemaNotFound) {
  const QueryResult answer{{{"a", SchemaError{Kind::NotFound, "schema 'X' not found"}},
                            {"b", SchemaError{Kind::NotFound, "schema 'X' not found"}}}};
  const auto refused = refusal_of(answer);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, ErrorCode::SchemaNotFound);
  EXPECT_EQ(refused->kind, ErrorKind::Message);
  EXPECT_EQ(refused->message, "schema 'X' not found");
}

TEST(QueryRefusal, EveryFieldInvalidDslIsInvalidDsl) {
  const QueryResult answer{{{"a", SchemaError{Kind::InvalidDSL, "filter names unknown field 'z'"}}}};
  const auto refused = refusal_of(answer);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, ErrorCode::InvalidDsl);
  EXPECT_EQ(refused->message, "filter names unknown field 'z'");
}

TEST(QueryRefusal, NothingReadableWithADenialIsPermissionDeniedNamingEachReasonOnce) {
  const QueryResult answer{{denied("a", "field 'a' needs trust distance <= 0"),
                            {"nope", SchemaError{Kind::InvalidField, "no field 'nope'"}},
                            denied("a", "field 'a' needs trust distance <= 0")}};
  const auto refused = refusal_of(answer);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, ErrorCode::PermissionDenied);
  EXPECT_EQ(refused->kind, ErrorKind::Trust);
  EXPECT_EQ(refused->message,
            "the requester may read nothing it asked for: field 'a' needs trust distance <= 0; no field 'nope'");
}

TEST(QueryRefusal, AnswersThatGoAsTheyAre) {
  // No fields, a readable field beside a denied one, unknown fields only, a mix of kinds.
  EXPECT_FALSE(refusal_of(QueryResult{}));
  EXPECT_FALSE(refusal_of(QueryResult{{{"a", Json::array()}, denied("b", "no")}}));
  EXPECT_FALSE(refusal_of(QueryResult{{{"x", SchemaError{Kind::InvalidField, "no field 'x'"}}}}));
  EXPECT_FALSE(refusal_of(QueryResult{{{"a", SchemaError{Kind::NotFound, "gone"}},
                                       {"b", SchemaError{Kind::InvalidData, "store error"}}}}));
  EXPECT_FALSE(refusal_of(QueryResult{{{"a", SchemaError{Kind::InvalidDSL, "bad"}}, {"b", Json(1)}}}));
}

}  // namespace
}  // namespace datafold::net
