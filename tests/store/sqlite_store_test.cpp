#include "store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "temp_dir.hpp"

namespace datafold::store {
namespace {

using net::Json;
using testutil::TempDir;

SchemaDefinition people_schema() {
  auto parsed = schema_from_json(Json{
      {"name", "People"},
      {"fields",
       {{"name", {{"type", "string"}, {"permission_policy", {{"read_policy", {{"NoRequirement", nullptr}}}}}}},
        {"age", {{"type", "integer"}, {"permission_policy", {{"read_policy", {{"Distance", 1}}}}}}},
        {"admin", {{"type", "boolean"}, {"permission_policy", {{"read_policy", {{"Distance", 0}}}}}}},
        {"extra", {{"permission_policy", {{"read_policy", {{"NoRequirement", nullptr}}}}}}}}}});
  EXPECT_TRUE(parsed) << parsed.error().message;
  return *parsed;
}

// People, version 2, without its "admin" field.
SchemaDefinition people_schema_without_admin() {
  SchemaDefinition replaced = people_schema();
  replaced.version = "2";
  replaced.fields.erase(replaced.fields.begin());  // fields are sorted: "admin" is first
  return replaced;
}

SqliteStore open_test_store(const std::filesystem::path& path) {
  auto store = SqliteStore::open(path);
  EXPECT_TRUE(store) << store.error().message;
  return std::move(store).value();
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.add_schema(people_schema()));
    auto inserted = store_.insert_rows("People", Json::parse(R"([
      {"name": "ann", "age": 30, "admin": true, "extra": {"k": [1, 2]}},
      {"name": "ben", "age": 1, "admin": false},
      {"name": "cid", "age": 30, "admin": false, "extra": null}])"));
    ASSERT_TRUE(inserted) << inserted.error().message;
    ASSERT_EQ(*inserted, 3u);
  }

  std::vector<Json> select(const std::vector<std::string>& fields, std::optional<Json> filter = std::nullopt) {
    auto result = store_.query("People", fields, filter);
    EXPECT_TRUE(result) << result.error().message;
    return result ? *result : std::vector<Json>{};
  }

  TempDir dir_;
  SqliteStore store_ = open_test_store(dir_.db());
};

TEST(SqliteStoreOpen, CreatesFileInWalModeAndReopens) {
  TempDir dir;
  {
    auto store = SqliteStore::open(dir.db());
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ(store->path(), dir.db());
    ASSERT_TRUE(store->add_schema(people_schema()));
  }
  auto again = SqliteStore::open(dir.db());
  ASSERT_TRUE(again) << again.error().message;
  auto schemas = again->list_schemas();
  ASSERT_TRUE(schemas);
  ASSERT_EQ(schemas->size(), 1u);
  EXPECT_EQ(schemas->front(), people_schema());

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
}

TEST(SqliteStoreOpen, RefusesWhatIsNotItsDatabase) {
  TempDir dir;
  auto missing_parent = SqliteStore::open(dir.path() / "no" / "such" / "store.sqlite");
  ASSERT_FALSE(missing_parent);
  EXPECT_EQ(missing_parent.error().kind, net::ErrorKind::Message);
  EXPECT_NE(missing_parent.error().message.find("cannot open database"), std::string::npos);

  const auto garbage = dir.path() / "garbage";
  std::ofstream(garbage) << "this is not an SQLite database, just some text that is long enough to have a header";
  auto not_db = SqliteStore::open(garbage);
  ASSERT_FALSE(not_db);
  EXPECT_NE(not_db.error().message.find(garbage.string()), std::string::npos) << not_db.error().message;
  EXPECT_NE(not_db.error().message.find("not a database"), std::string::npos) << not_db.error().message;

  sqlite3* raw = nullptr;
  const auto newer = dir.path() / "newer.sqlite";
  ASSERT_EQ(sqlite3_open(newer.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  auto too_new = SqliteStore::open(newer);
  ASSERT_FALSE(too_new);
  EXPECT_NE(too_new.error().message.find("newer than this datafold understands"), std::string::npos)
      << too_new.error().message;
}

TEST_F(SqliteStoreTest, GetAndListSchemas) {
  auto missing = store_.get_schema("Nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);

  SchemaDefinition other = people_schema();
  other.name = "Aardvarks";
  ASSERT_TRUE(store_.add_schema(other));
  auto schemas = store_.list_schemas();
  ASSERT_TRUE(schemas);
  ASSERT_EQ(schemas->size(), 2u);
  EXPECT_EQ((*schemas)[0].name, "Aardvarks");
  EXPECT_EQ((*schemas)[1].name, "People");

  auto got = store_.get_schema("People");
  ASSERT_TRUE(got);
  ASSERT_TRUE(*got);
  EXPECT_EQ(**got, people_schema());
}

// A query reads its schema each time (find_schema); the store keeps it parsed, so a
// change made through another connection (another process) must still show at once.
TEST_F(SqliteStoreTest, ASchemaChangedThroughAnotherConnectionIsReadAsChanged) {
  auto before = store_.find_schema("People");
  ASSERT_TRUE(before && *before);
  EXPECT_NE((*before)->find_field("admin"), nullptr);
  EXPECT_EQ(store_.find_schema("Nope").value(), nullptr);

  SqliteStore other = open_test_store(dir_.db());
  const SchemaDefinition replaced = people_schema_without_admin();
  ASSERT_TRUE(other.add_schema(replaced));

  auto after = store_.find_schema("People");
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->version, "2");
  EXPECT_EQ((*after)->find_field("admin"), nullptr);
  EXPECT_EQ(**after, replaced);
  EXPECT_EQ((*before)->version, "1");  // what a reader already holds stays as it was
}

// Names in an allow-list stand for whatever key the trust store gives them at the time
// of the read, not when the schema was first parsed.
TEST_F(SqliteStoreTest, NamedReadersAreResolvedAtEveryRead) {
  auto parsed = parse_schema(R"({"name": "Stock",
    "fields": {"count": {"permission_policy": {"read_policy": {"Distance": 0},
                  "explicit_read_policy": {"counts_by_pub_key": {"warehouse_manager_key": 1}}}}}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_TRUE(store_.add_schema(*parsed));
  std::optional<net::PublicKey> current;
  store_.set_reader_names([&current](std::string_view name) {
    return name == "warehouse_manager_key" ? current : std::nullopt;
  });
  const auto readers = [this] {
    auto schema = store_.find_schema("Stock");
    EXPECT_TRUE(schema && *schema);
    return (*schema)->find_field("count")->policy.resolved_readers;
  };
  EXPECT_TRUE(readers().empty());
  std::array<std::uint8_t, net::PublicKey::kSize> raw{};
  raw.fill(7);
  current = net::PublicKey::from_bytes(raw);
  EXPECT_EQ(readers(), std::set<net::PublicKey>{*current});
  raw.fill(9);
  current = net::PublicKey::from_bytes(raw);
  EXPECT_EQ(readers(), std::set<net::PublicKey>{*current});
  EXPECT_EQ(store_.get_schema("Stock").value()->find_field("count")->policy.resolved_readers,
            std::set<net::PublicKey>{*current});
}

TEST_F(SqliteStoreTest, AddSchemaRefusesWhatParseWouldRefuse) {
  SchemaDefinition empty;
  empty.name = "Empty";
  auto added = store_.add_schema(empty);
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().kind, net::ErrorKind::Config);
  EXPECT_EQ(added.error().message,
            R"(fields: expected an object of fields, a list of field names, or (for a view) "transform_fields")");
}

TEST_F(SqliteStoreTest, ReplacingSchemaKeepsRows) {
  ASSERT_TRUE(store_.add_schema(people_schema_without_admin()));
  auto got = store_.get_schema("People");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->version, "2");
  EXPECT_EQ((*got)->find_field("admin"), nullptr);
  EXPECT_EQ(store_.count_rows("People").value(), 3u);
  EXPECT_EQ(select({"name"})[0], Json::parse(R"(["ann", "ben", "cid"])"));
  auto dropped = store_.query("People", {"admin"});
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().kind, net::ErrorKind::Config);
}

TEST_F(SqliteStoreTest, InsertsObjectOrArray) {
  auto one = store_.insert_rows("People", Json{{"name", "dee"}, {"age", 4}});
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(*one, 1u);
  auto two = store_.insert_rows("People", Json::parse(R"([{"name": "eve"}, {"age": null}])"));
  ASSERT_TRUE(two) << two.error().message;
  EXPECT_EQ(*two, 2u);
  auto none = store_.insert_rows("People", Json::array());
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
  EXPECT_EQ(store_.count_rows("People").value(), 6u);

  // Values in insertion order; missing fields read as null, arrays aligned by row.
  const auto columns = select({"name", "age"});
  ASSERT_EQ(columns.size(), 2u);
  EXPECT_EQ(columns[0], Json::parse(R"(["ann", "ben", "cid", "dee", "eve", null])"));
  EXPECT_EQ(columns[1], Json::parse(R"([30, 1, 30, 4, null, null])"));
}

TEST_F(SqliteStoreTest, UnknownFieldRejectsTheWholeCall) {
  auto result = store_.insert_rows("People", Json::parse(R"([{"name": "x"}, {"name": "y"}, {"nickname": "z"}])"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, net::ErrorKind::Config);
  EXPECT_EQ(result.error().message,
            "rows[2].nickname: unknown field of schema People (fields: admin, age, extra, name)");
  EXPECT_EQ(store_.count_rows("People").value(), 3u);

  auto single = store_.insert_rows("People", Json{{"nickname", "z"}});
  ASSERT_FALSE(single);
  EXPECT_EQ(single.error().message.rfind("row.nickname: unknown field", 0), 0u) << single.error().message;
}

TEST_F(SqliteStoreTest, TypeMismatchRejectsTheWholeCall) {
  auto result = store_.insert_rows("People", Json::parse(R"([{"name": "x", "age": 5}, {"age": "five"}])"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, net::ErrorKind::Config);
  EXPECT_EQ(result.error().message, "rows[1].age: expected integer, got string");
  EXPECT_EQ(store_.count_rows("People").value(), 3u);

  auto flag = store_.insert_rows("People", Json{{"admin", 1}});
  ASSERT_FALSE(flag);
  EXPECT_EQ(flag.error().message, "row.admin: expected boolean, got number");
  // A field without a declared type takes any JSON.
  EXPECT_TRUE(store_.insert_rows("People", Json{{"extra", Json::array({1, "two"})}}));
}

// A storage failure at the Nth row of a call, for every N, leaves none of its rows
// behind; SQLite raises it from a trigger, as a full disk would fail the write.
TEST_F(SqliteStoreTest, FailureAtAnyRowRollsBackTheWholeCall) {
  const Json rows = Json::parse(R"([{"name": "r1"}, {"name": "r2"}, {"name": "r3"}])");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.db().c_str(), &raw), SQLITE_OK);
  for (std::size_t fail_at = 1; fail_at <= rows.size(); ++fail_at) {
    const std::string trigger =
        "DROP TRIGGER IF EXISTS fail_nth; "
        "CREATE TRIGGER fail_nth BEFORE INSERT ON rows "
        "WHEN (SELECT count(*) FROM rows) >= " + std::to_string(3 + fail_at - 1) +
        " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;";
    ASSERT_EQ(sqlite3_exec(raw, trigger.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
    auto result = store_.insert_rows("People", rows);
    ASSERT_FALSE(result) << "fail_at " << fail_at;
    EXPECT_EQ(result.error().kind, net::ErrorKind::Message);
    EXPECT_NE(result.error().message.find("injected failure"), std::string::npos) << result.error().message;
    EXPECT_EQ(store_.count_rows("People").value(), 3u) << "fail_at " << fail_at;
  }
  ASSERT_EQ(sqlite3_exec(raw, "DROP TRIGGER fail_nth", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  auto inserted = store_.insert_rows("People", rows);
  ASSERT_TRUE(inserted) << inserted.error().message;
  EXPECT_EQ(store_.count_rows("People").value(), 6u);
}

TEST_F(SqliteStoreTest, InsertRefusesBadInput) {
  auto no_schema = store_.insert_rows("Nope", Json{{"name", "x"}});
  ASSERT_FALSE(no_schema);
  EXPECT_EQ(no_schema.error().kind, net::ErrorKind::Config);
  EXPECT_EQ(no_schema.error().message, "schema 'Nope' not found");

  auto scalar = store_.insert_rows("People", Json(5));
  ASSERT_FALSE(scalar);
  EXPECT_EQ(scalar.error().message, "rows: expected a JSON object or an array of objects");

  auto mixed = store_.insert_rows("People", Json::parse(R"([{"name": "x"}, 3])"));
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error().message, "rows[1]: expected a JSON object {field: value}");

  auto bad_utf8 = store_.insert_rows("People", Json{{"name", std::string("\xff\xfe")}});
  ASSERT_FALSE(bad_utf8);
  EXPECT_EQ(bad_utf8.error().message, "row: a string is not valid UTF-8");
  EXPECT_EQ(store_.count_rows("People").value(), 3u);
}

TEST_F(SqliteStoreTest, FoldDbsOtherOperatorsAndKeyPatternSelectThroughSql) {
  const auto filter = [](const char* field, const char* op, Json value) {
    return Json{{"field", field}, {"operator", op}, {"value", std::move(value)}};
  };
  EXPECT_EQ(select({"name"}, filter("age", "ne", 30))[0], Json::parse(R"(["ben"])"));
  EXPECT_EQ(select({"name"}, filter("name", "contains", "i"))[0], Json::parse(R"(["cid"])"));
  EXPECT_EQ(select({"name"}, filter("extra", "contains", 1))[0], Json::array());  // an object, not an array
  EXPECT_EQ(select({"name"}, Json::parse(R"({"range_filter": {"name": {"KeyPattern": "?i*"}}})"))[0],
            Json::parse(R"(["cid"])"));
  EXPECT_EQ(select({"name"}, Json::parse(R"({"range_filter": {"name": {"KeyPattern": "b*"}}})"))[0],
            Json::parse(R"(["ben"])"));
  EXPECT_EQ(select({"name"}, Json::parse(R"({"field": "name", "range_filter": {"KeyPattern": "*n"}})"))[0],
            Json::parse(R"(["ann", "ben"])"));
}

TEST_F(SqliteStoreTest, FilterIsEqualityOnEveryGivenField) {
  EXPECT_EQ(select({"name"}, Json{{"age", 30}})[0], Json::parse(R"(["ann", "cid"])"));
  EXPECT_EQ(select({"name"}, Json{{"age", 30}, {"admin", false}})[0], Json::parse(R"(["cid"])"));
  EXPECT_EQ(select({"name"}, Json{{"name", "ben"}})[0], Json::parse(R"(["ben"])"));
  EXPECT_EQ(select({"name"}, Json{{"age", 30.0}})[0], Json::parse(R"(["ann", "cid"])"));
  // JSON equality, not SQLite's: true is not 1, "30" is not 30.
  EXPECT_EQ(select({"name"}, Json{{"admin", true}})[0], Json::parse(R"(["ann"])"));
  EXPECT_EQ(select({"name"}, Json{{"age", 1}})[0], Json::parse(R"(["ben"])"));
  EXPECT_EQ(select({"name"}, Json{{"age", "30"}})[0], Json::array());
  EXPECT_EQ(select({"name"}, Json{{"admin", 1}})[0], Json::array());  // SQL alone would match ann's true
  // Structured values and null (a missing field equals null).
  EXPECT_EQ(select({"name"}, Json{{"extra", {{"k", {1, 2}}}}})[0], Json::parse(R"(["ann"])"));
  EXPECT_EQ(select({"name"}, Json{{"extra", nullptr}})[0], Json::parse(R"(["ben", "cid"])"));
  EXPECT_EQ(select({"name"}, Json{{"name", "nobody"}})[0], Json::array());
  // No filter, an empty one, or JSON null: every row.
  EXPECT_EQ(select({"name"}, Json::object())[0].size(), 3u);
  EXPECT_EQ(select({"name"}, Json(nullptr))[0].size(), 3u);
}

TEST_F(SqliteStoreTest, QueryRefusesBadFieldsAndFilters) {
  auto unknown = store_.query("People", {"name", "salary"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind, net::ErrorKind::Config);
  EXPECT_EQ(unknown.error().message, "schema People has no field 'salary' (fields: admin, age, extra, name)");

  auto bad_filter = store_.query("People", {"name"}, Json::array({1}));
  ASSERT_FALSE(bad_filter);
  EXPECT_EQ(bad_filter.error().message, "filter: expected a JSON object {field: value}");

  auto filter_field = store_.query("People", {"name"}, Json{{"salary", 1}});
  ASSERT_FALSE(filter_field);
  EXPECT_EQ(filter_field.error().message,
            "filter.salary: unknown field of schema People (fields: admin, age, extra, name)");

  auto no_schema = store_.query("Nope", {"name"});
  ASSERT_FALSE(no_schema);
  EXPECT_EQ(no_schema.error().message, "schema 'Nope' not found");
}

// `datafold insert` and `datafold schema add` run in another process while the node
// serves: a second store on the same file stands in for that process.
TEST_F(SqliteStoreTest, SecondStoreOnSameFileSeesWritesAtOnce) {
  SqliteStore cli = open_test_store(dir_.db());
  SchemaDefinition notes = people_schema();
  notes.name = "Notes";
  ASSERT_TRUE(cli.add_schema(notes));
  ASSERT_TRUE(cli.insert_rows("People", Json{{"name", "dan"}}));

  auto seen = store_.get_schema("Notes");
  ASSERT_TRUE(seen);
  EXPECT_TRUE(*seen);
  EXPECT_EQ(select({"name"}, Json{{"name", "dan"}})[0], Json::parse(R"(["dan"])"));

  ASSERT_TRUE(store_.insert_rows("Notes", Json{{"name", "n1"}}));
  auto back = cli.query("Notes", {"name"});
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)[0], Json::parse(R"(["n1"])"));
}

// Two writers on one file at once: the busy timeout makes one wait for the other
// instead of failing with "database is locked".
TEST_F(SqliteStoreTest, ConcurrentWritersFromTwoConnectionsAllSucceed) {
  constexpr int kRowsEach = 300;
  SqliteStore other = open_test_store(dir_.db());
  auto write = [](SqliteStore& store, const char* who, bool& ok) {
    ok = true;
    for (int i = 0; i < kRowsEach && ok; ++i) {
      auto r = store.insert_rows("People", Json{{"name", who}, {"age", i}});
      if (!r) {
        ADD_FAILURE() << r.error().message;
        ok = false;
      }
      // Readers interleave with the writers, as the node's queries do.
      ok = ok && store.count_rows("People").ok();
    }
  };
  bool first_ok = false;
  bool second_ok = false;
  std::thread first([&] { write(store_, "first", first_ok); });
  std::thread second([&] { write(other, "second", second_ok); });
  first.join();
  second.join();
  EXPECT_TRUE(first_ok);
  EXPECT_TRUE(second_ok);
  EXPECT_EQ(store_.count_rows("People").value(), 3u + 2 * kRowsEach);
  EXPECT_EQ(select({"age"}, Json{{"name", "second"}})[0].size(), static_cast<std::size_t>(kRowsEach));
}

// One store shared by several threads, as the node's I/O threads share it.
TEST_F(SqliteStoreTest, SharedAcrossThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!store_.insert_rows("People", Json{{"name", "t" + std::to_string(t)}})) ++failures;
        auto r = store_.query("People", {"name"}, Json{{"name", "t" + std::to_string(t)}});
        if (!r || (*r)[0].size() != static_cast<std::size_t>(i + 1)) ++failures;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_.count_rows("People").value(), 3u + 4 * 50);
}

}  // namespace
}  // namespace datafold::store
