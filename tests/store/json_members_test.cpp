#include "store/json_members.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <datafold/net/query.hpp>

namespace datafold::store {
namespace {

using net::Json;

std::vector<std::string> members_of(std::string_view text, const std::vector<std::string>& keys) {
  auto found = json_members(text, keys);
  EXPECT_TRUE(found) << text;
  if (!found) return {};
  return {found->begin(), found->end()};
}

TEST(JsonMembers, FindsEachKeyInTheOrderAskedWithItsValueAsWritten) {
  const std::string row = R"( {"name": "alice", "age" : 30, "tags": [ "a", {"b": null} ], "ok": true, "x": -1.5e3} )";
  EXPECT_EQ(members_of(row, {"ok", "tags", "name", "x", "age"}),
            (std::vector<std::string>{"true", R"([ "a", {"b": null} ])", R"("alice")", "-1.5e3", "30"}));
}

TEST(JsonMembers, AKeyTheObjectLacksIsEmptyAndNestedKeysAreNotMembers) {
  EXPECT_EQ(members_of(R"({"a": {"b": 1}})", {"b", "a"}), (std::vector<std::string>{"", R"({"b": 1})"}));
  EXPECT_EQ(members_of("{}", {"a"}), (std::vector<std::string>{""}));
  EXPECT_EQ(members_of(R"({"a": 1})", {}), (std::vector<std::string>{}));
}

TEST(JsonMembers, IntoABufferEachRowStartsEmptyAndTheBufferMustFitTheKeys) {
  const std::vector<std::string> keys = {"a", "b"};
  std::vector<std::string_view> found(2);
  ASSERT_TRUE(json_members(R"({"a": 1, "b": 2})", keys, found));
  EXPECT_EQ(found, (std::vector<std::string_view>{"1", "2"}));
  // A later row lacking a key does not keep the earlier row's value for it.
  ASSERT_TRUE(json_members(R"({"b": 3})", keys, found));
  EXPECT_EQ(found, (std::vector<std::string_view>{"", "3"}));
  std::vector<std::string_view> too_small(1);
  EXPECT_FALSE(json_members(R"({"a": 1})", keys, too_small));
}

TEST(JsonMembers, TheFirstOfRepeatedKeysIsTakenAsSqliteTakesIt) {
  EXPECT_EQ(members_of(R"({"a": 1, "a": 2})", {"a"}), (std::vector<std::string>{"1"}));
}

TEST(JsonMembers, KeysMatchAsWrittenEscapesIncluded) {
  EXPECT_EQ(members_of(R"({"a\u0062": 1, "c\"d": 2})", {"ab", "a\\u0062", "c\\\"d"}),
            (std::vector<std::string>{"", "1", "2"}));
}

TEST(JsonMembers, RefusesWhatIsNotOneJsonObject) {
  for (const char* text :
       {"", " ", "[1]", "\"s\"", "7", "null", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{a: 1}", "{\"a\": 1,}",
        "{,}", "{\"a\": 1} {}", "{\"a\": 1} x", "{\"a\": [1,]}", "{\"a\": [1 2]}", "{\"a\": 01}", "{\"a\": 1.}",
        "{\"a\": .5}", "{\"a\": 1e}", "{\"a\": -}", "{\"a\": +1}", "{\"a\": tru}", "{\"a\": True}", "{\"a\": nul}",
        "{\"a\": \"x}", "{\"a\": \"\\x\"}", "{\"a\": \"\\u12g4\"}", "{\"a\": \"tab\there\"}", "{\"a\": [}",
        "{\"a\": {\"b\": 1]}", "{\"a\": [1}]"})
    EXPECT_FALSE(json_members(text, std::vector<std::string>{"a"})) << text;
}

TEST(JsonMembers, NestingDeeperThanSqlitesLimitIsRefusedAndNoDeeperIsRead) {
  const auto nested = [](std::size_t depth) {  // an object `depth` containers deep in all
    return "{\"a\": " + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  EXPECT_TRUE(json_members(nested(kMaxJsonDepth), std::vector<std::string>{"a"}));
  EXPECT_FALSE(json_members(nested(kMaxJsonDepth + 1), std::vector<std::string>{"a"}));
  // Far deeper still is refused without exhausting the stack.
  EXPECT_FALSE(json_members(nested(1'000'000), std::vector<std::string>{"a"}));
}

// Every text one edit away from a few rows is an object to json_members exactly when it is
// one to nlohmann's parser, and then each member reads as nlohmann reads it. (ASCII only:
// json_members leaves UTF-8 to the parse of the values it finds.)
TEST(JsonMembers, AgreesWithAFullParserOnEveryTextOneEditFromARow) {
  const std::vector<std::string> rows = {
      R"({"name":"alice","age":30,"score":-1.25e-2,"ok":false,"none":null})",
      R"({ "list" : [1, [2, {"k": "v\n\"q\""}], {}], "o": {"p": [true, null, 0]}, "e": "" })",
      // Strings are scanned sixteen or eight bytes at a time, and the text's last sixteen
      // as one block overlapping what came before: a long string puts every edit at every
      // offset within a step, one ending the text every edit within the last block.
      R"({"text":"a string that runs past a few eight-byte words","n":7})",
      R"({"n":7,"text":"a string that runs past a few blocks to the end"})",
  };
  const std::vector<std::string> keys = {"name", "age", "score", "ok", "none", "list", "o", "e", "k", "p", "text", "n"};
  const std::string edits = "{}[]\":, -+.0123456789eEtrufalsn\\x\t\x1f\x7f";
  std::size_t texts = 0;
  std::size_t objects = 0;
  const auto check = [&](const std::string& text) {
    ++texts;
    const auto found = json_members(text, keys);
    const bool parses = Json::accept(text) && Json::parse(text).is_object();
    ASSERT_EQ(found.has_value(), parses) << text;
    if (!found) return;
    ++objects;
    // nlohmann keeps the last of repeated keys, json_members the first: such texts are
    // only checked for being objects.
    std::vector<std::string> top_keys;
    const Json whole = Json::parse(text, [&](int depth, Json::parse_event_t event, Json& parsed) {
      if (depth == 1 && event == Json::parse_event_t::key) top_keys.push_back(parsed.get<std::string>());
      return true;
    });
    std::sort(top_keys.begin(), top_keys.end());
    if (std::adjacent_find(top_keys.begin(), top_keys.end()) != top_keys.end()) return;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto member = whole.find(keys[i]);
      if (member == whole.end()) {
        EXPECT_TRUE((*found)[i].empty()) << text << " key " << keys[i];
      } else {
        EXPECT_EQ(Json::parse((*found)[i]), *member) << text << " key " << keys[i];
      }
    }
  };
  for (const auto& row : rows) {
    for (std::size_t at = 0; at <= row.size(); ++at) {
      if (at < row.size()) check(row.substr(0, at) + row.substr(at + 1));  // deleted
      for (const char c : edits) {
        check(row.substr(0, at) + c + row.substr(at));  // inserted
        if (at < row.size()) check(row.substr(0, at) + c + row.substr(at + 1));  // replaced
      }
    }
  }
  // Not a vacuous agreement: many edits keep a row an object, many do not.
  EXPECT_GT(objects, texts / 20);
  EXPECT_LT(objects, texts * 3 / 4);
}

}  // namespace
}  // namespace datafold::store
