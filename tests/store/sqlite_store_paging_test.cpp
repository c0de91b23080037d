// SqliteStore's field indexes, filters of every shape and keyset paging (query_page).
#include "store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <stdexcept>
#include <string>

#include "temp_dir.hpp"

namespace datafold::store {
namespace {

using net::Json;
using testutil::TempDir;
using Op = FilterClause::Op;

Json field(const char* type) {
  return Json{{"type", type}, {"permission_policy", {{"read_policy", {{"NoRequirement", nullptr}}}}}};
}

// A schema name and a field name SQL must quote; a json field gets no index.
SchemaDefinition events_schema() {
  auto parsed = schema_from_json(Json{{"name", "Ev'ents"},
                                      {"fields",
                                       {{"n", field("integer")},
                                        {"group", field("string")},
                                        {"it's.x", field("string")},
                                        {"blob", field("json")}}}});
  EXPECT_TRUE(parsed) << parsed.error().message;
  return *parsed;
}

SqliteStore open_store(const std::filesystem::path& path, SqliteStore::Options options = {}) {
  auto store = SqliteStore::open(path, options);
  EXPECT_TRUE(store) << store.error().message;
  return std::move(store).value();
}

// Rows n = 1..count, group "g<n % 10>", it's.x "k<n>".
void fill(SqliteStore& store, int count) {
  Json rows = Json::array();
  for (int n = 1; n <= count; ++n)
    rows.push_back(Json{{"n", n}, {"group", "g" + std::to_string(n % 10)}, {"it's.x", "k" + std::to_string(n)}});
  auto inserted = store.insert_rows("Ev'ents", rows);
  ASSERT_TRUE(inserted) << inserted.error().message;
}

std::set<std::string> index_names(const std::filesystem::path& db) {
  std::set<std::string> out;
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(raw, "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rows'", -1,
                               &stmt, nullptr),
            SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) out.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
  return out;
}

int user_version(const std::filesystem::path& db) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  const int version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
  return version;
}

class SqliteStorePagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.add_schema(schema_));
    fill(store_, kRows);
  }

  std::vector<Json> select(const std::vector<std::string>& fields, const Json& filter) {
    auto result = store_.query(schema_, fields, filter);
    EXPECT_TRUE(result) << result.error().message;
    return result ? *result : std::vector<Json>{};
  }

  std::string plan(const std::vector<FilterClause>& clauses) {
    auto explained = store_.explain_query(schema_, clauses);
    EXPECT_TRUE(explained) << explained.error().message;
    return explained ? *explained : "";
  }

  static constexpr int kRows = 10'000;
  TempDir dir_;
  SqliteStore store_ = open_store(dir_.db());
  SchemaDefinition schema_ = events_schema();
};

TEST_F(SqliteStorePagingTest, PagesReturnEveryRowOnceInOrder) {
  std::int64_t after = 0;
  std::vector<Json> seen;
  int pages = 0;
  for (bool more = true; more; ++pages) {
    auto page = store_.query_page(schema_, {"n"}, {}, after, 1000, std::numeric_limits<std::size_t>::max());
    ASSERT_TRUE(page) << page.error().message;
    ASSERT_EQ(page->rows, 1000u);
    ASSERT_EQ(page->columns.size(), 1u);
    ASSERT_EQ(page->columns[0].size(), 1000u);
    for (const auto& n : page->columns[0]) seen.push_back(n);
    EXPECT_GT(page->last_row_id, after);
    after = page->last_row_id;
    more = page->more;
    ASSERT_LE(pages, 10);
  }
  EXPECT_EQ(pages, 10);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kRows));
  for (int i = 0; i < kRows; ++i) ASSERT_EQ(seen[i], i + 1);

  // After the last row: an empty page, nothing more.
  auto past = store_.query_page(schema_, {"n"}, {}, after, 1000, 1'000'000);
  ASSERT_TRUE(past);
  EXPECT_EQ(past->rows, 0u);
  EXPECT_EQ(past->last_row_id, 0);
  EXPECT_FALSE(past->more);
  EXPECT_EQ(past->columns[0], Json::array());
}

// read_snapshot's tests: a store of events_schema() rows, and a second connection to
// its file, as `datafold insert` would have.
class SqliteStoreSnapshot : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.add_schema(schema_)); }

  TempDir dir_;
  SqliteStore store_ = open_store(dir_.db());
  SqliteStore writer_ = open_store(dir_.db());
  const SchemaDefinition schema_ = events_schema();
};

// A schema and the rows read under it come from one state of the file, even when
// another connection commits between the two reads.
TEST_F(SqliteStoreSnapshot, ReadsInOneSnapshotDoNotSeeAWriteCommittedBetweenThem) {
  fill(store_, 3);
  std::size_t rows_inside = 0;
  auto read = store_.read_snapshot([&](SqliteStore::Snapshot& snapshot) {
    auto found = snapshot.find_schema("Ev'ents");
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(*found);
    auto inserted = writer_.insert_rows("Ev'ents", Json::array({Json{{"n", 4}}, Json{{"n", 5}}}));
    ASSERT_TRUE(inserted) << inserted.error().message;
    auto page = snapshot.query_page(**found, {"n"}, {}, 0, 100, 1'000'000);
    ASSERT_TRUE(page) << page.error().message;
    rows_inside = page->rows;
  });
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(rows_inside, 3u);
  // The snapshot over, the next read sees the write.
  auto after = store_.query_page(schema_, {"n"}, {}, 0, 100, 1'000'000);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->rows, 5u);
  EXPECT_EQ(after->columns[0], Json::array({1, 2, 3, 4, 5}));
}

// A throw out of a snapshot's reads (a query handler's bug) still ends its transaction:
// the store goes on reading, and writing from another connection.
TEST_F(SqliteStoreSnapshot, AThrowOutOfTheReadsEndsTheTransaction) {
  fill(store_, 2);
  EXPECT_THROW((void)store_.read_snapshot([&](SqliteStore::Snapshot& snapshot) {
    ASSERT_TRUE(snapshot.find_schema("Ev'ents"));
    throw std::runtime_error("a handler's bug");
  }),
               std::runtime_error);
  ASSERT_TRUE(writer_.insert_rows("Ev'ents", Json{{"n", 3}}));
  std::size_t rows = 0;
  auto read = store_.read_snapshot([&](SqliteStore::Snapshot& snapshot) {
    auto page = snapshot.query_page(schema_, {"n"}, {}, 0, 100, 1'000'000);
    ASSERT_TRUE(page) << page.error().message;
    rows = page->rows;
  });
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(rows, 3u);
}

// The node holds a snapshot around a turn of requests (net::TurnScope), and each
// query's own read_snapshot inside it joins that one: every query of the turn reads the
// same state, the store's other reads work inside, and a write fails rather than hangs.
TEST_F(SqliteStoreSnapshot, ANestedSnapshotJoinsTheOuterOne) {
  fill(store_, 3);
  std::size_t rows_first = 0;
  std::size_t rows_second = 0;
  auto outer = store_.read_snapshot([&](SqliteStore::Snapshot&) {
    auto first = store_.read_snapshot([&](SqliteStore::Snapshot& snapshot) {
      auto page = snapshot.query_page(schema_, {"n"}, {}, 0, 100, 1'000'000);
      ASSERT_TRUE(page) << page.error().message;
      rows_first = page->rows;
    });
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_TRUE(writer_.insert_rows("Ev'ents", Json{{"n", 4}}));
    auto second = store_.read_snapshot([&](SqliteStore::Snapshot& snapshot) {
      auto page = snapshot.query_page(schema_, {"n"}, {}, 0, 100, 1'000'000);
      ASSERT_TRUE(page) << page.error().message;
      rows_second = page->rows;
    });
    ASSERT_TRUE(second) << second.error().message;
    auto schemas = store_.list_schemas();
    ASSERT_TRUE(schemas) << schemas.error().message;
    EXPECT_EQ(schemas->size(), 1u);
    EXPECT_FALSE(store_.insert_rows("Ev'ents", Json{{"n", 5}})) << "no write inside a read transaction";
  });
  ASSERT_TRUE(outer) << outer.error().message;
  EXPECT_EQ(rows_first, 3u);
  EXPECT_EQ(rows_second, 3u) << "the second query of the turn reads the state the first did";
  auto after = store_.query_page(schema_, {"n"}, {}, 0, 100, 1'000'000);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->columns[0], Json::array({1, 2, 3, 4})) << "the turn over, the write shows; the refused one does not";
}

TEST_F(SqliteStorePagingTest, FilteredPagesAndMoreAtTheExactEnd) {
  // group g3: n = 3, 13, …, 9993 (1,000 rows) in pages of 300: 300, 300, 300, 100.
  const std::vector<FilterClause> g3{{"group", Op::Eq, "g3"}};
  std::int64_t after = 0;
  std::vector<std::size_t> sizes;
  int expected = 3;
  for (bool more = true; more;) {
    auto page = store_.query_page(schema_, {"n", "group"}, g3, after, 300, 1'000'000);
    ASSERT_TRUE(page) << page.error().message;
    sizes.push_back(page->rows);
    for (std::size_t i = 0; i < page->rows; ++i) {
      ASSERT_EQ(page->columns[0][i], expected);
      ASSERT_EQ(page->columns[1][i], "g3");
      expected += 10;
    }
    after = page->last_row_id;
    more = page->more;
    ASSERT_LE(sizes.size(), 5u);
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{300, 300, 300, 100}));

  // A page that ends exactly on the last match says there is no more.
  auto exact = store_.query_page(schema_, {"n"}, g3, 0, 1000, 1'000'000);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->rows, 1000u);
  EXPECT_FALSE(exact->more);
  auto short_by_one = store_.query_page(schema_, {"n"}, g3, 0, 999, 1'000'000);
  ASSERT_TRUE(short_by_one);
  EXPECT_TRUE(short_by_one->more);
}

TEST_F(SqliteStorePagingTest, MaxBytesEndsAPageButAlwaysTakesOneRow) {
  // Rows 1..9 all dump to the same length.
  const std::size_t row_bytes = Json{{"group", "g1"}, {"it's.x", "k1"}, {"n", 1}}.dump().size();
  auto three = store_.query_page(schema_, {"n"}, {}, 0, 100, 3 * row_bytes);
  ASSERT_TRUE(three);
  EXPECT_EQ(three->columns[0], Json::parse("[1, 2, 3]"));
  EXPECT_TRUE(three->more);
  auto just_under = store_.query_page(schema_, {"n"}, {}, 0, 100, 3 * row_bytes - 1);
  ASSERT_TRUE(just_under);
  EXPECT_EQ(just_under->columns[0], Json::parse("[1, 2, 3]"));  // stops once it reaches the budget
  auto tiny = store_.query_page(schema_, {"n"}, {}, 5, 100, 1);
  ASSERT_TRUE(tiny);
  EXPECT_EQ(tiny->columns[0], Json::parse("[6]"));
  EXPECT_EQ(tiny->last_row_id, 6);

  auto zero = store_.query_page(schema_, {"n"}, {}, 0, 0, 100);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().kind, net::ErrorKind::Config);
}

// Without a filter SQLite extracts the fields asked for (the rows are not parsed here);
// with one, the rows are parsed whole. Values of every kind read the same either way.
TEST(SqliteStoreFields, AnUnfilteredPageReadsEveryKindOfValueAsAFilteredOneDoes) {
  TempDir dir;
  SqliteStore store = open_store(dir.db());
  const auto schema = schema_from_json(Json{{"name", "Kinds"}, {"fields", {{"n", field("integer")}, {"v", field("json")}}}});
  ASSERT_TRUE(schema) << schema.error().message;
  ASSERT_TRUE(store.add_schema(*schema));
  const Json values = Json::parse(R"([true, false, null, 0, -7, 18446744073709551615, -9223372036854775808,
    0.1, -0.0, 1e300, "", "plain ASCII {text} ~", "tab\tquote\"back\\slash", "\u00e9\u65e5\ud83d\udc22", [], {}, [1, [2, {"a": null}]],
    {"b": true, "a": "x", "c": {"d": [false]}}])");
  Json rows = Json::array();
  for (std::size_t i = 0; i < values.size(); ++i) rows.push_back(Json{{"n", i}, {"v", values[i]}});
  rows.push_back(Json{{"n", values.size()}});  // no "v": reads as null
  ASSERT_TRUE(store.insert_rows("Kinds", rows));

  auto unfiltered = store.query_page(*schema, {"v", "n"}, {}, 0, 1000, 1'000'000);
  auto filtered = store.query_page(*schema, {"v", "n"}, {FilterClause{"n", FilterClause::Op::Gte, 0}}, 0, 1000, 1'000'000);
  ASSERT_TRUE(unfiltered) << unfiltered.error().message;
  ASSERT_TRUE(filtered) << filtered.error().message;
  Json expected = values;
  expected.push_back(nullptr);
  EXPECT_EQ(unfiltered->columns[0], expected);
  EXPECT_EQ(unfiltered->columns, filtered->columns);
  EXPECT_EQ(unfiltered->columns[0][0].type(), Json::value_t::boolean);  // not SQLite's 1
  EXPECT_EQ(unfiltered->rows, filtered->rows);
  EXPECT_EQ(unfiltered->last_row_id, filtered->last_row_id);
}

// SQLite's paths miss a key JSON writes with an escape; such fields, and queries naming
// more fields than it extracts, are read by parsing rows, to the same answer. (Twenty
// fields are extracted, with more than the few a query's members have room for inline.)
TEST(SqliteStoreFields, NamesWithEscapesAndManyFieldsReadAsAFilteredPageReadsThem) {
  TempDir dir;
  SqliteStore store = open_store(dir.db());
  const auto schema = schema_from_json(
      Json{{"name", "Odd"}, {"fields", {{"n", field("integer")}, {"a\\b", field("string")}, {"tab\there", field("string")}}}});
  ASSERT_TRUE(schema) << schema.error().message;
  ASSERT_TRUE(store.add_schema(*schema));
  ASSERT_TRUE(store.insert_rows("Odd", Json::parse(R"([{"n": 1, "a\\b": "x", "tab\there": "y"}, {"n": 2}])")));
  const std::vector<FilterClause> all{FilterClause{"n", FilterClause::Op::Gte, 0}};
  for (const std::vector<std::string>& fields :
       {std::vector<std::string>{"a\\b", "tab\there", "n"}, std::vector<std::string>(20, "n"),
        std::vector<std::string>(100, "n")}) {
    auto unfiltered = store.query_page(*schema, fields, {}, 0, 1000, 1'000'000);
    auto filtered = store.query_page(*schema, fields, all, 0, 1000, 1'000'000);
    ASSERT_TRUE(unfiltered) << unfiltered.error().message;
    ASSERT_TRUE(filtered) << filtered.error().message;
    EXPECT_EQ(unfiltered->columns, filtered->columns);
  }
  auto odd = store.query_page(*schema, {"a\\b", "tab\there"}, {}, 0, 1000, 1'000'000);
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->columns[0], Json::parse(R"(["x", null])"));
  EXPECT_EQ(odd->columns[1], Json::parse(R"(["y", null])"));
  auto eq = store.query_page(*schema, {"n"}, {FilterClause{"a\\b", FilterClause::Op::Eq, "x"}}, 0, 1000, 1'000'000);
  ASSERT_TRUE(eq) << eq.error().message;
  EXPECT_EQ(eq->columns[0], Json::parse("[1]"));
}

TEST(SqliteStoreFields, AStoredRowThatIsNotAnObjectIsAnErrorNotANull) {
  TempDir dir;
  SqliteStore store = open_store(dir.db());
  const auto schema = schema_from_json(Json{{"name", "Kinds"}, {"fields", {{"n", field("integer")}}}});
  ASSERT_TRUE(schema && store.add_schema(*schema));
  ASSERT_TRUE(store.insert_rows("Kinds", Json{{"n", 1}}));
  // (JSON that is not JSON at all cannot even be written: the field indexes read it.)
  for (const char* broken : {"[1, 2]", "\"text\"", "7"}) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(dir.db().c_str(), &raw), SQLITE_OK);
    const std::string sql = std::string("INSERT INTO rows (schema, json) VALUES ('Kinds', '") + broken + "')";
    ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
    sqlite3_close(raw);
    auto page = store.query_page(*schema, {"n"}, {}, 0, 1000, 1'000'000);
    ASSERT_FALSE(page) << broken;
    EXPECT_NE(page.error().message.find("Kinds"), std::string::npos) << page.error().message;
    ASSERT_EQ(sqlite3_open(dir.db().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "DELETE FROM rows WHERE id > 1", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
}

TEST_F(SqliteStorePagingTest, FiltersOfEveryShape) {
  EXPECT_EQ(select({"n"}, Json{{"field", "n"}, {"operator", "gt"}, {"value", 9997}})[0], Json::parse("[9998, 9999, 10000]"));
  EXPECT_EQ(select({"n"}, Json{{"field", "n"}, {"operator", "lte"}, {"value", 2.5}})[0], Json::parse("[1, 2]"));
  EXPECT_EQ(select({"n"}, Json{{"field", "n"}, {"operator", "lt"}, {"value", 3}})[0], Json::parse("[1, 2]"));
  EXPECT_EQ(select({"n"}, Json{{"field", "n"}, {"operator", "gte"}, {"value", 9999.5}})[0], Json::parse("[10000]"));
  EXPECT_EQ(select({"n"}, Json{{"field", "n"}, {"operator", "eq"}, {"value", 77}})[0], Json::parse("[77]"));
  EXPECT_EQ(select({"n"}, Json::parse(R"({"field": "n", "range_filter": {"KeyRange": {"start": 5, "end": 8}}})"))[0],
            Json::parse("[5, 6, 7]"));
  EXPECT_EQ(select({"n"}, Json::parse(R"({"range_filter": {"n": {"Key": 42}}})"))[0], Json::parse("[42]"));
  EXPECT_EQ(select({"n"}, Json::parse(R"({"range_filter": {"it's.x": {"KeyPrefix": "k999"}}})"))[0],
            Json::parse("[999, 9990, 9991, 9992, 9993, 9994, 9995, 9996, 9997, 9998, 9999]"));
  EXPECT_EQ(select({"n"}, Json::parse(R"({"range_filter": {"it's.x": {"KeyRange": {"start": "k9998", "end": "k99999"}}}})"))[0],
            Json::parse("[9998, 9999]"));
  // Strings and numbers never compare with each other.
  EXPECT_EQ(select({"n"}, Json{{"field", "group"}, {"operator", "lt"}, {"value", 5}})[0], Json::array());
  EXPECT_EQ(select({"n"}, Json{{"field", "n"}, {"operator", "gt"}, {"value", ""}})[0], Json::array());
  // Equality map and operator form together with a second field.
  EXPECT_EQ(select({"n"}, Json{{"group", "g7"}, {"n", 17}})[0], Json::parse("[17]"));
}

TEST_F(SqliteStorePagingTest, FiltersMatchTheExactCheckOnMixedValues) {
  // A field without a declared type holds anything: SQL narrows, matches() decides.
  auto parsed = schema_from_json(Json{{"name", "Mixed"}, {"fields", {{"v", Json{{"permission_policy", {{"read_policy", {{"NoRequirement", nullptr}}}}}}}}}});
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(store_.add_schema(*parsed));
  ASSERT_TRUE(store_.insert_rows("Mixed", Json::parse(R"([{"v": 1}, {"v": true}, {"v": "1"}, {"v": 1.5}, {"v": null},
      {}, {"v": [1]}, {"v": {"a": 1}}, {"v": "b"}, {"v": 9007199254740993}, {"v": -2}])")));
  const auto values = [&](const Json& filter) {
    auto r = store_.query(*parsed, {"v"}, filter);
    EXPECT_TRUE(r) << r.error().message;
    return r ? (*r)[0] : Json();
  };
  EXPECT_EQ(values(Json{{"v", 1}}), Json::parse("[1]"));
  EXPECT_EQ(values(Json{{"v", true}}), Json::parse("[true]"));
  EXPECT_EQ(values(Json{{"v", nullptr}}), Json::parse("[null, null]"));
  EXPECT_EQ(values(Json{{"field", "v"}, {"operator", "gte"}, {"value", 1}}), Json::parse("[1, 1.5, 9007199254740993]"));
  EXPECT_EQ(values(Json{{"field", "v"}, {"operator", "gt"}, {"value", 9007199254740992.0}}),
            Json::parse("[9007199254740993]"));
  EXPECT_EQ(values(Json{{"field", "v"}, {"operator", "lt"}, {"value", 1.5}}), Json::parse("[1, -2]"));
  EXPECT_EQ(values(Json{{"field", "v"}, {"operator", "gte"}, {"value", ""}}), Json::parse(R"(["1", "b"])"));
  EXPECT_EQ(values(Json{{"field", "v"}, {"operator", "lt"}, {"value", "a"}}), Json::parse(R"(["1"])"));
}

TEST_F(SqliteStorePagingTest, EqualityAndRangeFiltersReadTheFieldIndex) {
  const auto indexes = index_names(dir_.db());
  // n, group and it's.x are indexed; blob (json) is not.
  EXPECT_EQ(indexes.size(), 4u) << ::testing::PrintToString(indexes);
  EXPECT_TRUE(indexes.contains("rows_by_schema"));

  for (const auto& clauses : {std::vector<FilterClause>{{"group", Op::Eq, "g3"}},
                              std::vector<FilterClause>{{"n", Op::Eq, 5}},
                              std::vector<FilterClause>{{"n", Op::Gte, 5}, {"n", Op::Lt, 105}},
                              std::vector<FilterClause>{{"it's.x", Op::Gte, "k5"}, {"it's.x", Op::Lt, "k6"}},
                              std::vector<FilterClause>{{"n", Op::Gt, 5}, {"group", Op::Eq, "g3"}}}) {
    const std::string p = plan(clauses);
    EXPECT_NE(p.find("USING INDEX rows_"), std::string::npos) << p;
    EXPECT_EQ(p.find("rows_by_schema"), std::string::npos) << p;
    EXPECT_EQ(p.find("SCAN rows"), std::string::npos) << p;
  }
  // The equality reads its entries in id order: no sort.
  EXPECT_EQ(plan({{"group", Op::Eq, "g3"}}).find("TEMP B-TREE"), std::string::npos) << plan({{"group", Op::Eq, "g3"}});
  // No filter: the schema's rows in id order.
  EXPECT_NE(plan({}).find("rows_by_schema"), std::string::npos) << plan({});
}

TEST(SqliteStoreIndexes, WithoutFieldIndexesTheSameAnswersComeFromAScan) {
  TempDir dir;
  SqliteStore store = open_store(dir.db(), SqliteStore::Options{.index_fields = false});
  const SchemaDefinition schema = events_schema();
  ASSERT_TRUE(store.add_schema(schema));
  fill(store, 100);
  EXPECT_EQ(index_names(dir.db()), (std::set<std::string>{"rows_by_schema"}));
  auto explained = store.explain_query(schema, {{"group", Op::Eq, "g3"}});
  ASSERT_TRUE(explained);
  // "rows_45…" would be a field index of Ev'ents ('E' is 0x45).
  EXPECT_EQ(explained->find("rows_45"), std::string::npos) << *explained;
  auto r = store.query(schema, {"n"}, Json{{"field", "n"}, {"operator", "gte"}, {"value", 98}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)[0], Json::parse("[98, 99, 100]"));

  // The same file opened with indexes gets them.
  SqliteStore indexed = open_store(dir.db());
  EXPECT_EQ(index_names(dir.db()).size(), 4u);
  auto again = indexed.explain_query(schema, {{"group", Op::Eq, "g3"}});
  ASSERT_TRUE(again);
  EXPECT_NE(again->find("USING INDEX rows_"), std::string::npos) << *again;
  // The first store sees the new indexes on its next query.
  auto seen = store.explain_query(schema, {{"group", Op::Eq, "g3"}});
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, *again);
}

TEST(SqliteStoreIndexes, ReplacingASchemaDropsIndexesOfFieldsItNoLongerIndexes) {
  TempDir dir;
  SqliteStore store = open_store(dir.db());
  SchemaDefinition schema = events_schema();
  ASSERT_TRUE(store.add_schema(schema));
  fill(store, 10);
  ASSERT_EQ(index_names(dir.db()).size(), 4u);
  const_cast<FieldDefinition*>(schema.find_field("group"))->type = FieldType::Json;
  schema.fields.erase(schema.fields.begin() + 3);  // n (sorted: blob, group, it's.x, n)
  ASSERT_TRUE(store.add_schema(schema));
  EXPECT_EQ(index_names(dir.db()).size(), 2u) << ::testing::PrintToString(index_names(dir.db()));
  auto r = store.query(schema, {"it's.x"}, Json{{"group", "g3"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)[0], Json::parse(R"(["k3"])"));
}

TEST(SqliteStoreIndexes, AFieldMarkedIndexFalseGetsNoIndexAndIsScanned) {
  TempDir dir;
  SqliteStore store = open_store(dir.db());
  Json document = to_json(events_schema());
  document["fields"]["group"]["index"] = false;
  auto parsed = schema_from_json(document);
  ASSERT_TRUE(parsed) << parsed.error().message;
  SchemaDefinition schema = *parsed;
  ASSERT_TRUE(store.add_schema(schema));
  fill(store, 100);

  // n and it's.x only; the stored schema keeps the opt-out.
  const std::string group_index = "rows_457627656e7473_67726f7570";  // hex of Ev'ents, group
  EXPECT_EQ(index_names(dir.db()).size(), 3u) << ::testing::PrintToString(index_names(dir.db()));
  EXPECT_FALSE(index_names(dir.db()).contains(group_index));
  auto stored = store.get_schema("Ev'ents");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ(**stored, schema);

  auto explained = store.explain_query(schema, {{"group", Op::Eq, "g3"}});
  ASSERT_TRUE(explained) << explained.error().message;
  EXPECT_EQ(explained->find("USING INDEX rows_45"), std::string::npos) << *explained;
  // Another clause's index still drives the query; the unindexed clause is tested on its rows.
  auto mixed = store.explain_query(schema, {{"group", Op::Eq, "g3"}, {"n", Op::Lt, 20}});
  ASSERT_TRUE(mixed) << mixed.error().message;
  EXPECT_NE(mixed->find("USING INDEX rows_457627656e7473_6e"), std::string::npos) << *mixed;

  auto r = store.query(schema, {"n"}, Json{{"group", "g3"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)[0], Json::parse("[3, 13, 23, 33, 43, 53, 63, 73, 83, 93]"));

  // Indexed again: the index is made; opted out once more: it is dropped.
  schema.fields[1].indexed = true;  // sorted: blob, group, it's.x, n
  ASSERT_TRUE(store.add_schema(schema));
  EXPECT_TRUE(index_names(dir.db()).contains(group_index));
  auto indexed = store.explain_query(schema, {{"group", Op::Eq, "g3"}});
  ASSERT_TRUE(indexed);
  EXPECT_NE(indexed->find("USING INDEX " + group_index), std::string::npos) << *indexed;
  schema.fields[1].indexed = false;
  ASSERT_TRUE(store.add_schema(schema));
  EXPECT_FALSE(index_names(dir.db()).contains(group_index));
  auto again = store.query(schema, {"n"}, Json{{"group", "g3"}});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *r);
}

TEST(SqliteStoreIndexes, AFormatOneFileOpensAndGetsItsIndexes) {
  TempDir dir;
  const SchemaDefinition schema = events_schema();
  {
    // The tables as format 1 wrote them: no field indexes.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(dir.db().c_str(), &raw), SQLITE_OK);
    std::string definition;
    for (const char c : to_json(schema).dump()) definition += c == '\'' ? std::string("''") : std::string(1, c);
    const std::string sql = R"sql(
      CREATE TABLE schemas (name TEXT PRIMARY KEY NOT NULL, definition TEXT NOT NULL);
      CREATE TABLE rows (id INTEGER PRIMARY KEY AUTOINCREMENT, schema TEXT NOT NULL, json TEXT NOT NULL);
      CREATE INDEX rows_by_schema ON rows (schema, id);
      PRAGMA user_version = 1;
      INSERT INTO schemas VALUES ('Ev''ents', ')sql" + definition + R"sql(');
      INSERT INTO rows (schema, json) VALUES ('Ev''ents', '{"n": 1, "group": "g1"}'), ('Ev''ents', '{"n": 2, "group": "g2"}');
    )sql";
    ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  ASSERT_EQ(index_names(dir.db()), (std::set<std::string>{"rows_by_schema"}));

  SqliteStore store = open_store(dir.db());
  EXPECT_EQ(user_version(dir.db()), SqliteStore::kFormatVersion);
  EXPECT_EQ(index_names(dir.db()).size(), 4u);
  auto explained = store.explain_query(schema, {{"group", Op::Eq, "g2"}});
  ASSERT_TRUE(explained);
  EXPECT_NE(explained->find("USING INDEX rows_"), std::string::npos) << *explained;
  auto r = store.query(schema, {"n"}, Json{{"group", "g2"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)[0], Json::parse("[2]"));
}

}  // namespace
}  // namespace datafold::store
