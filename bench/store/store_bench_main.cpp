// The node's store with field indexes against the same store without them
// (SqliteStore::Options{.index_fields = false}, every filter scans), in the same run:
// batch insert rate, and p50/p99 of an equality filter (about rows/1000 rows), a key
// lookup and a key range of 100 rows. Prints one JSON object.
//
//   store_bench [--rows N (1000000)] [--row-bytes B (200)] [--queries Q (200)]
//               [--seconds S (15): time bound of each query measurement]
//               [--dir PARENT (system temp dir)]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdlib.h>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/sqlite_store.hpp"

namespace {

using datafold::net::Json;
using datafold::store::SchemaDefinition;
using datafold::store::SqliteStore;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBatch = 10'000;
constexpr std::size_t kGroups = 1000;
constexpr std::size_t kRangeRows = 100;
constexpr std::string_view kSchema = "BenchRows";

struct Flags {
  std::size_t rows = 1'000'000;
  std::size_t row_bytes = 200;
  std::size_t queries = 200;
  double seconds = 15;
  std::filesystem::path dir = std::filesystem::temp_directory_path();
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "store_bench: %s\nusage: store_bench [--rows N] [--row-bytes B] [--queries Q] [--seconds S] [--dir D]\n",
               why);
  std::exit(2);
}

Flags parse_flags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) usage("a flag needs a value");
    const char* value = argv[++i];
    if (arg == "--rows") flags.rows = std::strtoull(value, nullptr, 10);
    else if (arg == "--row-bytes") flags.row_bytes = std::strtoull(value, nullptr, 10);
    else if (arg == "--queries") flags.queries = std::strtoull(value, nullptr, 10);
    else if (arg == "--seconds") flags.seconds = std::strtod(value, nullptr);
    else if (arg == "--dir") flags.dir = value;
    else usage("unknown flag");
  }
  if (flags.rows < kRangeRows || flags.queries == 0) usage("--rows must be at least 100 and --queries at least 1");
  return flags;
}

template <class T>
T check(datafold::net::NetworkResult<T> result, const char* what) {
  if (!result) {
    std::fprintf(stderr, "store_bench: %s: %s\n", what, result.error().message.c_str());
    std::exit(1);
  }
  return std::move(result).value();
}
void check(datafold::net::NetworkResult<void> result, const char* what) {
  if (!result) {
    std::fprintf(stderr, "store_bench: %s: %s\n", what, result.error().message.c_str());
    std::exit(1);
  }
}

SchemaDefinition bench_schema() {
  const auto field = [](const char* type) {
    return Json{{"type", type}, {"permission_policy", {{"read_policy", {{"NoRequirement", nullptr}}}}}};
  };
  return check(datafold::store::schema_from_json(Json{
                   {"name", kSchema},
                   {"fields",
                    {{"id", field("integer")}, {"group", field("string")}, {"ts", field("integer")},
                     {"payload", field("string")}}}}),
               "schema");
}

std::string group_of(std::size_t id) {
  // A multiplicative hash spreads each group over the whole table, as real data would be.
  return "group-" + std::to_string((id * 2654435761u) % kGroups);
}

// Row `id`, its JSON text about `row_bytes` long.
Json make_row(std::size_t id, std::size_t row_bytes, std::mt19937_64& rng) {
  Json row{{"id", id}, {"group", group_of(id)}, {"ts", 1'700'000'000'000 + static_cast<std::int64_t>(id)}, {"payload", ""}};
  const std::size_t bare = row.dump().size();
  std::string payload(row_bytes > bare ? row_bytes - bare : 0, 'x');
  for (auto& c : payload) c = static_cast<char>('a' + rng() % 26);
  row["payload"] = std::move(payload);
  return row;
}

struct Latency {
  std::vector<double> micros;
  std::size_t answer_rows = 0;  // of the first query

  Json to_json() const {
    std::vector<double> sorted = micros;
    std::sort(sorted.begin(), sorted.end());
    const auto at = [&](double q) {
      return sorted.empty() ? 0.0 : sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * sorted.size()))];
    };
    return Json{{"p50_us", std::round(at(0.50))}, {"p99_us", std::round(at(0.99))}, {"queries", sorted.size()},
                {"answer_rows", answer_rows}};
  }
};

struct StoreResult {
  double insert_rows_per_s = 0;
  std::uintmax_t file_bytes = 0;
  Latency group_eq, key_lookup, key_range;
};

// `filter_of(i)` for i = 0, 1, … until `queries` ran or `seconds` passed (at least 3).
template <class FilterOf>
Latency measure(SqliteStore& store, const SchemaDefinition& schema, const Flags& flags, FilterOf filter_of) {
  const std::vector<std::string> fields{"id", "group", "ts", "payload"};
  Latency out;
  const auto deadline = Clock::now() + std::chrono::duration<double>(flags.seconds);
  for (std::size_t i = 0; i < flags.queries && (i < 3 || Clock::now() < deadline); ++i) {
    const Json filter = filter_of(i);
    const auto start = Clock::now();
    auto columns = check(store.query(schema, fields, filter), "query");
    out.micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if (i == 0) out.answer_rows = columns[0].size();
  }
  return out;
}

StoreResult run(const std::filesystem::path& file, bool index_fields, const Flags& flags) {
  StoreResult result;
  SqliteStore store = check(SqliteStore::open(file, SqliteStore::Options{.index_fields = index_fields}), "open");
  const SchemaDefinition schema = bench_schema();
  check(store.add_schema(schema), "add_schema");

  std::mt19937_64 rng(42);
  Clock::duration inserting{};
  for (std::size_t first = 1; first <= flags.rows; first += kBatch) {
    Json batch = Json::array();
    for (std::size_t id = first; id < first + kBatch && id <= flags.rows; ++id) batch.push_back(make_row(id, flags.row_bytes, rng));
    const auto start = Clock::now();
    check(store.insert_rows(kSchema, batch), "insert_rows");
    inserting += Clock::now() - start;
  }
  result.insert_rows_per_s = std::round(static_cast<double>(flags.rows) / std::chrono::duration<double>(inserting).count());

  // The same query sequence for both stores (same seed).
  std::mt19937_64 pick(7);
  const auto any_id = [&] { return static_cast<std::size_t>(1 + pick() % flags.rows); };
  result.group_eq = measure(store, schema, flags, [&](std::size_t) { return Json{{"group", group_of(any_id())}}; });
  result.key_lookup = measure(store, schema, flags, [&](std::size_t) {
    return Json{{"field", "id"}, {"operator", "eq"}, {"value", any_id()}};
  });
  result.key_range = measure(store, schema, flags, [&](std::size_t) {
    const std::size_t start = 1 + pick() % (flags.rows - kRangeRows + 1);
    return Json{{"field", "id"}, {"range_filter", {{"KeyRange", {{"start", start}, {"end", start + kRangeRows}}}}}};
  });
  std::error_code ignored;
  for (const char* suffix : {"", "-wal"}) {
    const auto size = std::filesystem::file_size(file.string() + suffix, ignored);
    if (!ignored) result.file_bytes += size;
  }
  return result;
}

Json to_json(const StoreResult& r) {
  return Json{{"insert_rows_per_s", r.insert_rows_per_s},
              {"file_bytes", r.file_bytes},
              {"group_eq", r.group_eq.to_json()},
              {"key_lookup", r.key_lookup.to_json()},
              {"key_range_100", r.key_range.to_json()}};
}

double ratio(double a, double b) { return b > 0 ? std::round(a / b * 10) / 10 : 0; }

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = parse_flags(argc, argv);
  std::string pattern = (flags.dir / "store-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) usage("cannot make a temp dir under --dir");
  const std::filesystem::path dir = pattern;

  const auto started = Clock::now();
  const StoreResult indexed = run(dir / "indexed.sqlite", true, flags);
  const StoreResult unindexed = run(dir / "unindexed.sqlite", false, flags);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);

  const auto p50 = [](const Latency& l) { return l.to_json()["p50_us"].get<double>(); };
  const auto p99 = [](const Latency& l) { return l.to_json()["p99_us"].get<double>(); };
  Json out{
      {"rows", flags.rows},
      {"row_bytes", flags.row_bytes},
      {"batch_rows", kBatch},
      {"indexed", to_json(indexed)},
      {"unindexed", to_json(unindexed)},
      {"unindexed_over_indexed",
       {{"insert_rows_per_s", ratio(unindexed.insert_rows_per_s, indexed.insert_rows_per_s)},
        {"group_eq_p50", ratio(p50(unindexed.group_eq), p50(indexed.group_eq))},
        {"group_eq_p99", ratio(p99(unindexed.group_eq), p99(indexed.group_eq))},
        {"key_lookup_p50", ratio(p50(unindexed.key_lookup), p50(indexed.key_lookup))},
        {"key_lookup_p99", ratio(p99(unindexed.key_lookup), p99(indexed.key_lookup))},
        {"key_range_100_p50", ratio(p50(unindexed.key_range), p50(indexed.key_range))},
        {"key_range_100_p99", ratio(p99(unindexed.key_range), p99(indexed.key_range))}}},
      {"answers_agree", indexed.group_eq.answer_rows == unindexed.group_eq.answer_rows &&
                            indexed.key_lookup.answer_rows == unindexed.key_lookup.answer_rows &&
                            indexed.key_range.answer_rows == unindexed.key_range.answer_rows},
      {"seconds", std::round(std::chrono::duration<double>(Clock::now() - started).count())}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
