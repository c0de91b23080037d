#include "services/query_cursor.hpp"

#include <gtest/gtest.h>

#include "datafold/net/identity.hpp"

namespace datafold::net::detail {
namespace {

Query people_query() {
  Query q;
  q.schema_name = "People";
  q.fields = {"name", "age"};
  q.filter = Json{{"city", "Oslo"}};
  return q;
}

class QueryCursorTest : public ::testing::Test {
 protected:
  QueryCursors cursors_;
  PublicKey alice_ = Identity::generate().value().public_key();
  PublicKey bob_ = Identity::generate().value().public_key();
};

TEST_F(QueryCursorTest, OpensForTheSameRequesterAndQuery) {
  const auto cursor = cursors_.seal(alice_, people_query(), "1234");
  ASSERT_FALSE(cursor.empty());
  // The requester's own limit and claims are not part of the query's identity.
  Query again = people_query();
  again.limit = 10;
  again.trust_distance = 3;
  EXPECT_EQ(cursors_.open(alice_, again, cursor), "1234");
}

TEST_F(QueryCursorTest, AnotherRequesterCannotUseIt) {
  const auto cursor = cursors_.seal(alice_, people_query(), "1234");
  EXPECT_FALSE(cursors_.open(bob_, people_query(), cursor));
}

TEST_F(QueryCursorTest, AnotherQueryCannotUseIt) {
  const auto cursor = cursors_.seal(alice_, people_query(), "1234");
  Query other_fields = people_query();
  other_fields.fields.push_back("salary");
  EXPECT_FALSE(cursors_.open(alice_, other_fields, cursor));
  Query other_filter = people_query();
  other_filter.filter = Json{{"city", "Bergen"}};
  EXPECT_FALSE(cursors_.open(alice_, other_filter, cursor));
  Query no_filter = people_query();
  no_filter.filter.reset();
  EXPECT_FALSE(cursors_.open(alice_, no_filter, cursor));
  Query other_schema = people_query();
  other_schema.schema_name = "Salaries";
  EXPECT_FALSE(cursors_.open(alice_, other_schema, cursor));
}

TEST_F(QueryCursorTest, AnEditedOrForeignCursorOpensToNothing) {
  auto cursor = cursors_.seal(alice_, people_query(), "1234");
  auto edited = cursor;
  edited[1] = '9';  // the position: "9234"
  EXPECT_FALSE(cursors_.open(alice_, people_query(), edited));
  auto bad_tag = cursor;
  bad_tag.back() = static_cast<char>(bad_tag.back() ^ 1);
  EXPECT_FALSE(cursors_.open(alice_, people_query(), bad_tag));
  EXPECT_FALSE(cursors_.open(alice_, people_query(), ""));
  EXPECT_FALSE(cursors_.open(alice_, people_query(), cursor.substr(0, 10)));
  // Another node (another key) made it.
  QueryCursors other_node;
  EXPECT_FALSE(other_node.open(alice_, people_query(), cursor));
}

TEST_F(QueryCursorTest, APositionTooLongIsNotSealed) {
  EXPECT_TRUE(cursors_.seal(alice_, people_query(), std::string(QueryCursors::kMaxPositionBytes + 1, 'x')).empty());
  const auto longest = std::string(QueryCursors::kMaxPositionBytes, 'x');
  EXPECT_EQ(cursors_.open(alice_, people_query(), cursors_.seal(alice_, people_query(), longest)), longest);
}

}  // namespace
}  // namespace datafold::net::detail
