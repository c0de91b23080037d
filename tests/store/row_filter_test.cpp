#include "store/row_filter.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <limits>

namespace datafold::store {
namespace {

using net::Json;
using Op = FilterClause::Op;

SchemaDefinition schema() {
  auto parsed = schema_from_json(Json{
      {"name", "People"},
      {"fields",
       {{"name", {{"type", "string"}, {"permission_policy", {{"read_policy", {{"NoRequirement", nullptr}}}}}}},
        {"age", {{"type", "integer"}, {"permission_policy", {{"read_policy", {{"NoRequirement", nullptr}}}}}}}}}});
  EXPECT_TRUE(parsed) << parsed.error().message;
  return *parsed;
}

std::vector<FilterClause> parse_ok(const Json& filter) {
  auto clauses = parse_filter(schema(), filter);
  EXPECT_TRUE(clauses) << clauses.error().message;
  return clauses ? *clauses : std::vector<FilterClause>{};
}

std::string parse_error(const Json& filter) {
  auto clauses = parse_filter(schema(), filter);
  EXPECT_FALSE(clauses) << filter.dump();
  if (clauses) return "";
  EXPECT_EQ(clauses.error().kind, net::ErrorKind::Config);
  return clauses.error().message;
}

TEST(RowFilterParse, AbsentNullAndEmptyMeanNoClauses) {
  EXPECT_TRUE(parse_filter(schema(), std::nullopt).value().empty());
  EXPECT_TRUE(parse_ok(Json(nullptr)).empty());
  EXPECT_TRUE(parse_ok(Json::object()).empty());
}

TEST(RowFilterParse, EqualityMap) {
  EXPECT_EQ(parse_ok(Json{{"name", "ann"}, {"age", 30}}),
            (std::vector<FilterClause>{{"age", Op::Eq, 30}, {"name", Op::Eq, "ann"}}));
  // A null or structured value is an equality too.
  EXPECT_EQ(parse_ok(Json{{"name", nullptr}}), (std::vector<FilterClause>{{"name", Op::Eq, nullptr}}));
}

TEST(RowFilterParse, OperatorForm) {
  for (const auto& [name, op] : {std::pair{"eq", Op::Eq}, std::pair{"gt", Op::Gt}, std::pair{"gte", Op::Gte},
                                 std::pair{"lt", Op::Lt}, std::pair{"lte", Op::Lte}})
    EXPECT_EQ(parse_ok(Json{{"field", "age"}, {"operator", name}, {"value", 25}}),
              (std::vector<FilterClause>{{"age", op, 25}}))
        << name;
  EXPECT_EQ(parse_ok(Json{{"field", "name"}, {"operator", "eq"}, {"value", nullptr}}),
            (std::vector<FilterClause>{{"name", Op::Eq, nullptr}}));
  // ne and contains take any value: they compare, they do not order.
  EXPECT_EQ(parse_ok(Json{{"field", "name"}, {"operator", "ne"}, {"value", nullptr}}),
            (std::vector<FilterClause>{{"name", Op::Ne, nullptr}}));
  EXPECT_EQ(parse_ok(Json{{"field", "name"}, {"operator", "contains"}, {"value", true}}),
            (std::vector<FilterClause>{{"name", Op::Contains, true}}));
}

TEST(RowFilterParse, RangeFilterForms) {
  EXPECT_EQ(parse_ok(Json::parse(R"({"field": "age", "range_filter": {"KeyRange": {"start": 10, "end": 20}}})")),
            (std::vector<FilterClause>{{"age", Op::Gte, 10}, {"age", Op::Lt, 20}}));
  EXPECT_EQ(parse_ok(Json::parse(R"({"range_filter": {"name": {"KeyRange": {"start": "a", "end": "m"}}}})")),
            (std::vector<FilterClause>{{"name", Op::Gte, "a"}, {"name", Op::Lt, "m"}}));
  EXPECT_EQ(parse_ok(Json::parse(R"({"range_filter": {"age": {"Key": 7}}})")),
            (std::vector<FilterClause>{{"age", Op::Eq, 7}}));
  EXPECT_EQ(parse_ok(Json::parse(R"({"field": "name", "range_filter": {"Key": "ann"}})")),
            (std::vector<FilterClause>{{"name", Op::Eq, "ann"}}));
  EXPECT_EQ(parse_ok(Json::parse(R"({"range_filter": {"name": {"KeyPrefix": "an"}}})")),
            (std::vector<FilterClause>{{"name", Op::Gte, "an"}, {"name", Op::Lt, "ao"}}));
  // The empty prefix is every string.
  EXPECT_EQ(parse_ok(Json::parse(R"({"range_filter": {"name": {"KeyPrefix": ""}}})")),
            (std::vector<FilterClause>{{"name", Op::Gte, ""}}));
  // A pattern's literal start bounds it like a prefix, so an index narrows it.
  EXPECT_EQ(parse_ok(Json::parse(R"({"range_filter": {"name": {"KeyPattern": "an*e"}}})")),
            (std::vector<FilterClause>{{"name", Op::Gte, "an"}, {"name", Op::Lt, "ao"}, {"name", Op::Pattern, "an*e"}}));
  EXPECT_EQ(parse_ok(Json::parse(R"({"range_filter": {"name": {"KeyPattern": "*e"}}})")),
            (std::vector<FilterClause>{{"name", Op::Pattern, "*e"}}));
}

TEST(RowFilterParse, FoldDbsOperatorObjectsInTheEqualityMapAndAndConditions) {
  // examples__user_profile_queries.json: {"age": {"gt": 30}}, {"bio": {"contains": "engineer"}}.
  EXPECT_EQ(parse_ok(Json::parse(R"({"age": {"gt": 30}, "name": {"contains": "an"}})")),
            (std::vector<FilterClause>{{"age", Op::Gt, 30}, {"name", Op::Contains, "an"}}));
  // An object that is no operator is compared whole.
  EXPECT_EQ(parse_ok(Json::parse(R"({"name": {"first": "ann"}})")),
            (std::vector<FilterClause>{{"name", Op::Eq, Json{{"first", "ann"}}}}));
  // samples__data__PopularSocialPostsQuery.json's shape.
  EXPECT_EQ(parse_ok(Json::parse(R"({"operator": "and", "conditions": [
                                       {"field": "age", "operator": "gte", "value": 18},
                                       {"field": "name", "operator": "ne", "value": "bob"}]})")),
            (std::vector<FilterClause>{{"age", Op::Gte, 18}, {"name", Op::Ne, "bob"}}));
  EXPECT_NE(parse_error(Json::parse(R"({"operator": "or", "conditions": [{"name": "a"}, {"name": "b"}]})"))
                .find("filter.operator: 'or' is not supported"),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"operator": "and", "conditions": [{"name": "a"},
                                         {"field": "age", "operator": "between", "value": 1}]})"))
                .find("filter.conditions[1].operator: unknown operator 'between'"),
            std::string::npos);
  EXPECT_NE(parse_error(Json::parse(R"({"age": {"gt": [1]}})")).find("filter.age.gt: needs a string or number"),
            std::string::npos);

  // "and" within "and" is fine a few levels deep; one nested deeper is refused, not
  // recursed into level by level.
  const auto nested = [](int levels) {
    std::string text;
    for (int i = 0; i < levels; ++i) text += R"({"operator": "and", "conditions": [)";
    text += R"({"name": "ann"})";
    for (int i = 0; i < levels; ++i) text += "]}";
    return Json::parse(text);
  };
  EXPECT_EQ(parse_ok(nested(8)), (std::vector<FilterClause>{{"name", Op::Eq, "ann"}}));
  EXPECT_NE(parse_error(nested(1000)).find("nest at most 8 deep"), std::string::npos);
}

TEST(RowFilterMatch, NeContainsAndPatterns) {
  const Json row = Json::parse(R"({"name": "anne", "tags": ["a", 2, {"k": 1}], "age": 30})");
  EXPECT_TRUE(matches({{"name", Op::Ne, "ann"}}, row));
  EXPECT_FALSE(matches({{"name", Op::Ne, "anne"}}, row));
  EXPECT_TRUE(matches({{"missing", Op::Ne, "x"}}, row));
  EXPECT_FALSE(matches({{"missing", Op::Ne, nullptr}}, row));
  EXPECT_TRUE(matches({{"name", Op::Contains, "nn"}}, row));
  EXPECT_FALSE(matches({{"name", Op::Contains, "x"}}, row));
  EXPECT_TRUE(matches({{"tags", Op::Contains, 2}}, row));
  EXPECT_TRUE(matches({{"tags", Op::Contains, Json{{"k", 1}}}}, row));
  EXPECT_FALSE(matches({{"tags", Op::Contains, "2"}}, row));
  EXPECT_FALSE(matches({{"age", Op::Contains, 3}}, row));
  EXPECT_TRUE(matches({{"name", Op::Pattern, "an*e"}}, row));
  EXPECT_TRUE(matches({{"name", Op::Pattern, "?nne"}}, row));
  EXPECT_FALSE(matches({{"name", Op::Pattern, "an?"}}, row));
  EXPECT_FALSE(matches({{"age", Op::Pattern, "3*"}}, row));
}

TEST(RowFilterMatch, GlobsMatchWholeStrings) {
  EXPECT_TRUE(glob_matches("", ""));
  EXPECT_TRUE(glob_matches("*", ""));
  EXPECT_TRUE(glob_matches("*", "anything"));
  EXPECT_TRUE(glob_matches("user_*", "user_42"));
  EXPECT_FALSE(glob_matches("user_*", "xuser_42"));
  EXPECT_TRUE(glob_matches("*_42", "user_42"));
  EXPECT_TRUE(glob_matches("a*b*c", "aXXbYYbZc"));
  EXPECT_FALSE(glob_matches("a*b*c", "aXXbYYbZ"));
  EXPECT_TRUE(glob_matches("a?c", "abc"));
  EXPECT_FALSE(glob_matches("a?c", "ac"));
  EXPECT_FALSE(glob_matches("abc", "abcd"));
  // Many stars against a long non-match ends quickly (no exponential backtracking).
  EXPECT_FALSE(glob_matches("*a*a*a*a*a*a*a*a*b", std::string(10'000, 'a')));
}

TEST(RowFilterParse, ErrorsSayWhatIsWrong) {
  EXPECT_EQ(parse_error(Json::array({1})), "filter: expected a JSON object {field: value}");
  EXPECT_EQ(parse_error(Json{{"salary", 1}}), "filter.salary: unknown field of schema People (fields: age, name)");
  EXPECT_EQ(parse_error(Json{{"field", "salary"}, {"operator", "gt"}, {"value", 1}}),
            "filter.salary: unknown field of schema People (fields: age, name)");
  EXPECT_EQ(parse_error(Json{{"field", "age"}, {"operator", "between"}, {"value", 1}}),
            "filter.operator: unknown operator 'between' (expected eq, ne, gt, gte, lt, lte or contains)");
  EXPECT_EQ(parse_error(Json{{"field", 3}, {"operator", "gt"}, {"value", 1}}), "filter.field: expected a field name");
  EXPECT_EQ(parse_error(Json{{"field", "age"}, {"operator", "gt"}, {"value", true}}),
            "filter.value: operator gt needs a string or number, got boolean");
  EXPECT_EQ(parse_error(Json{{"field", "age"}, {"operator", "gt"}, {"value", 1}, {"extra", 2}}),
            R"(filter: the operator form is {"field": f, "operator": op, "value": v})");
  EXPECT_EQ(parse_error(Json::parse(R"({"range_filter": {"age": {"KeyRange": {"start": 1}}}})")),
            R"(filter.range_filter.age.KeyRange: expected {"start": a, "end": b})");
  EXPECT_EQ(parse_error(Json::parse(R"({"range_filter": {"age": {"KeyRange": {"start": [1], "end": 2}}}})")),
            "filter.range_filter.age.KeyRange.start: a range bound must be a string or number, got array");
  EXPECT_EQ(parse_error(Json::parse(R"({"range_filter": {"age": {"Key": null}}})")),
            "filter.range_filter.age.Key: a key must be a string or number, got null");
  EXPECT_EQ(parse_error(Json::parse(R"({"range_filter": {"name": {"KeyPrefix": 3}}})")),
            "filter.range_filter.name.KeyPrefix: a prefix must be a string, got number");
  EXPECT_EQ(parse_error(Json::parse(R"({"range_filter": {"name": {"KeyPattern": 1}}})")),
            "filter.range_filter.name.KeyPattern: a pattern must be a string, got number");
  EXPECT_EQ(parse_error(Json::parse(R"({"range_filter": {"name": {"Nope": 1}}})")),
            "filter.range_filter.name.Nope: unknown range operation (expected Key, KeyRange, KeyPrefix or KeyPattern)");
  EXPECT_EQ(parse_error(Json::parse(R"({"range_filter": {"name": 5}})")),
            R"(filter.range_filter.name: expected one of {"Key": v}, {"KeyRange": {"start": a, "end": b}}, {"KeyPrefix": "p"}, {"KeyPattern": "p*"})");
  EXPECT_EQ(parse_error(Json::parse(R"({"range_filter": {}})")),
            R"(filter.range_filter: expected {"<field>": {"Key": v}} or another range operation)");
  EXPECT_EQ(parse_error(Json::parse(R"({"field": "nope", "range_filter": {"Key": 1}})")),
            "filter.nope: unknown field of schema People (fields: age, name)");
}

TEST(RowFilterMatch, EqualityIsJsonEquality) {
  const Json row = Json::parse(R"({"name": "ann", "age": 30, "flag": true})");
  EXPECT_TRUE(matches({}, row));
  EXPECT_TRUE(matches({{"age", Op::Eq, 30}}, row));
  EXPECT_TRUE(matches({{"age", Op::Eq, 30.0}}, row));
  EXPECT_FALSE(matches({{"age", Op::Eq, "30"}}, row));
  EXPECT_FALSE(matches({{"flag", Op::Eq, 1}}, row));
  EXPECT_TRUE(matches({{"flag", Op::Eq, true}}, row));
  EXPECT_TRUE(matches({{"missing", Op::Eq, nullptr}}, row));
  EXPECT_FALSE(matches({{"age", Op::Eq, 30}, {"name", Op::Eq, "ben"}}, row));
}

TEST(RowFilterMatch, OrderingComparesLikeWithLikeOnly) {
  const Json row = Json::parse(R"({"name": "ann", "age": 30, "flag": true, "nothing": null})");
  EXPECT_TRUE(matches({{"age", Op::Gt, 25}}, row));
  EXPECT_FALSE(matches({{"age", Op::Gt, 30}}, row));
  EXPECT_TRUE(matches({{"age", Op::Gte, 30}}, row));
  EXPECT_TRUE(matches({{"age", Op::Lt, 30.5}}, row));
  EXPECT_TRUE(matches({{"age", Op::Lte, 30.0}}, row));
  EXPECT_FALSE(matches({{"age", Op::Lt, 30}}, row));
  EXPECT_TRUE(matches({{"name", Op::Gt, "an"}}, row));
  EXPECT_TRUE(matches({{"name", Op::Lt, "ann\x01"}}, row));
  EXPECT_FALSE(matches({{"name", Op::Lt, "ann"}}, row));
  // Another type never matches: not even "less than" every number.
  EXPECT_FALSE(matches({{"name", Op::Lt, 1000}}, row));
  EXPECT_FALSE(matches({{"age", Op::Gt, ""}}, row));
  EXPECT_FALSE(matches({{"flag", Op::Gte, 0}}, row));
  EXPECT_FALSE(matches({{"nothing", Op::Lt, 1}}, row));
  EXPECT_FALSE(matches({{"missing", Op::Lt, 1}}, row));
}

TEST(RowFilterMatch, StringsCompareBytewise) {
  // U+00E9 (C3 A9) sorts after 'z' by bytes, and so by code point.
  EXPECT_TRUE(matches({{"s", Op::Gt, "z"}}, Json{{"s", "\xC3\xA9"}}));
  EXPECT_TRUE(matches({{"s", Op::Lt, "\xF4\x8F\xBF\xBF"}}, Json{{"s", "\xEF\xBF\xBF"}}));
}

TEST(RowFilterMatch, KeyPrefixIsExactlyStartsWith) {
  const auto clauses = parse_ok(Json::parse(R"({"range_filter": {"name": {"KeyPrefix": "an"}}})"));
  for (const char* yes : {"an", "ann", "an\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF", "an\x7F"})
    EXPECT_TRUE(matches(clauses, Json{{"name", yes}})) << yes;
  for (const char* no : {"a", "ao", "am\xF4\x8F\xBF\xBF", "bn", ""})
    EXPECT_FALSE(matches(clauses, Json{{"name", no}})) << no;
  EXPECT_FALSE(matches(clauses, Json{{"name", 5}}));

  // A prefix ending in U+10FFFF: raising its last byte leaves UTF-8, the test stays exact.
  const std::string top = "\xF4\x8F\xBF\xBF";
  const auto high = parse_ok(Json{{"range_filter", {{"name", {{"KeyPrefix", top}}}}}});
  EXPECT_TRUE(matches(high, Json{{"name", top + top}}));
  EXPECT_FALSE(matches(high, Json{{"name", "\xF4\x8F\xBF\xBE"}}));
}

TEST(RowFilterMatch, NumbersCompareExactlyAcrossRepresentations) {
  const auto cmp = [](const Json& a, const Json& b) { return compare_ordered(a, b).value(); };
  // 2^53 + 1 is not a double: converting it would make it equal to 2^53.
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  EXPECT_EQ(cmp(Json(big), Json(9007199254740992.0)), 1);
  EXPECT_EQ(cmp(Json(9007199254740992.0), Json(big)), -1);
  EXPECT_EQ(cmp(Json(std::int64_t{-3}), Json(-2.5)), -1);
  EXPECT_EQ(cmp(Json(std::int64_t{-2}), Json(-2.5)), 1);
  EXPECT_EQ(cmp(Json(std::int64_t{2}), Json(2.0)), 0);
  const std::uint64_t huge = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(cmp(Json(huge), Json(std::int64_t{-1})), 1);
  EXPECT_EQ(cmp(Json(std::int64_t{-1}), Json(huge)), -1);
  EXPECT_EQ(cmp(Json(huge), Json(18446744073709551616.0)), -1);
  EXPECT_EQ(cmp(Json(huge), Json(1e300)), -1);
  EXPECT_EQ(cmp(Json(huge), Json(9223372036854775808.0)), 1);
  EXPECT_EQ(cmp(Json(std::uint64_t{5}), Json(std::int64_t{5})), 0);
  EXPECT_EQ(cmp(Json(1.5), Json(1.25)), 1);
  EXPECT_FALSE(compare_ordered(Json(1), Json("1")));
  EXPECT_FALSE(compare_ordered(Json(true), Json(1)));
}

}  // namespace
}  // namespace datafold::store
