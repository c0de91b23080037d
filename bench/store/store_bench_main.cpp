// The node's store with field indexes against the same store without them
// (SqliteStore::Options{.index_fields = false}, every filter scans), in the same run:
// batch insert rate, and p50/p99 of an equality filter (about rows/1000 rows), a key
// lookup and a key range of 100 rows; then the same three queries asked over the
// network: two NetworkCore nodes on loopback per store, one answering from the store
// with store::answer_query_page as `datafold node` does, the other timing query_node.
// The schema marks the random `payload` string "index": false, as a real schema would
// a free-text field nobody filters on; the insert rate with it indexed too is measured
// into a separate store over the first rows, beside the same figure for the main store.
// Prints one JSON object.
//
//   store_bench [--rows N (1000000)] [--row-bytes B (200)] [--queries Q (200)]
//               [--seconds S (15): time bound of each query measurement]
//               [--dir PARENT (system temp dir)]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdlib.h>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <datafold/net/network_core.hpp>
#include <nlohmann/json.hpp>

#include "store/sqlite_store.hpp"
#include "store/store_query_handler.hpp"

namespace {

namespace net = datafold::net;
using datafold::net::Json;
using datafold::store::SchemaDefinition;
using datafold::store::SqliteStore;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBatch = 10'000;
constexpr std::size_t kGroups = 1000;
constexpr std::size_t kRangeRows = 100;
constexpr std::string_view kSchema = "BenchRows";
// Rows inserted into the store whose payload is indexed too (and the prefix of the main
// stores' inserts timed alongside, since the rate falls as a table grows).
constexpr std::size_t kPayloadIndexedRows = 200'000;

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

// Every field readable by anyone (NoRequirement), so the network answers are the local ones.
SchemaDefinition bench_schema(bool index_payload) {
  const auto field = [](const char* type) {
    return Json{{"type", type}, {"permission_policy", {{"read_policy", {{"NoRequirement", nullptr}}}}}};
  };
  Json payload = field("string");
  if (!index_payload) payload["index"] = false;
  return check(datafold::store::schema_from_json(Json{
                   {"name", kSchema},
                   {"fields",
                    {{"id", field("integer")}, {"group", field("string")}, {"ts", field("integer")},
                     {"payload", std::move(payload)}}}}),
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
  std::vector<std::size_t> answer_rows;  // of each query, in order
  // Over the network: time spent in the answerer's page callback (the store's share of
  // `micros`), and how many pages each answer took.
  std::vector<double> answer_micros;
  std::vector<std::size_t> pages;

  Json to_json() const {
    std::vector<double> sorted = micros;
    std::sort(sorted.begin(), sorted.end());
    const auto at = [&](double q) {
      return sorted.empty() ? 0.0 : sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * sorted.size()))];
    };
    Json out{{"p50_us", std::round(at(0.50))}, {"p99_us", std::round(at(0.99))}, {"queries", sorted.size()},
             {"answer_rows", answer_rows.empty() ? 0 : answer_rows.front()}};
    if (!answer_micros.empty()) {
      sorted = answer_micros;
      std::sort(sorted.begin(), sorted.end());
      out["in_page_callback_p50_us"] = std::round(at(0.50));
      out["pages"] = pages.front();
    }
    return out;
  }
  double p50() const { return to_json()["p50_us"].get<double>(); }
  double p99() const { return to_json()["p99_us"].get<double>(); }
};

// The three query kinds, `queries` filters each, the same for every store and for the network.
struct QuerySet {
  std::vector<Json> group_eq, key_lookup, key_range;
};

QuerySet make_queries(const Flags& flags) {
  QuerySet out;
  std::mt19937_64 pick(7);
  const auto any_id = [&] { return static_cast<std::size_t>(1 + pick() % flags.rows); };
  for (std::size_t i = 0; i < flags.queries; ++i) {
    out.group_eq.push_back(Json{{"group", group_of(any_id())}});
    out.key_lookup.push_back(Json{{"field", "id"}, {"operator", "eq"}, {"value", any_id()}});
    const std::size_t start = 1 + pick() % (flags.rows - kRangeRows + 1);
    out.key_range.push_back(
        Json{{"field", "id"}, {"range_filter", {{"KeyRange", {{"start", start}, {"end", start + kRangeRows}}}}}});
  }
  return out;
}

struct Latencies {
  Latency group_eq, key_lookup, key_range;
};

// answer(filter, latency) -> rows, for each filter in turn until all ran or `seconds`
// passed (at least 3).
template <class Answer>
Latency measure(const std::vector<Json>& filters, const Flags& flags, Answer answer) {
  Latency out;
  const auto deadline = Clock::now() + std::chrono::duration<double>(flags.seconds);
  for (std::size_t i = 0; i < filters.size() && (i < 3 || Clock::now() < deadline); ++i) {
    const auto start = Clock::now();
    const std::size_t rows = answer(filters[i], out);
    out.micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    out.answer_rows.push_back(rows);
  }
  return out;
}

template <class Answer>
Latencies measure_all(const QuerySet& queries, const Flags& flags, Answer answer) {
  return Latencies{measure(queries.group_eq, flags, answer), measure(queries.key_lookup, flags, answer),
                   measure(queries.key_range, flags, answer)};
}

const std::vector<std::string> kFields{"id", "group", "ts", "payload"};

struct StoreResult {
  double insert_rows_per_s = 0;
  double insert_rows_per_s_first = 0;  // over the first kPayloadIndexedRows rows (or all, if fewer)
  std::uintmax_t file_bytes = 0;
  Latencies local;
};

std::uintmax_t file_bytes(const std::filesystem::path& file) {
  std::uintmax_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code failed;
    const auto size = std::filesystem::file_size(file.string() + suffix, failed);
    if (!failed) total += size;
  }
  return total;
}

// Opens a store at `file` and inserts rows 1..rows in batches; fills in the insert rates.
SqliteStore fill(const std::filesystem::path& file, bool index_fields, const SchemaDefinition& schema,
                 std::size_t rows, const Flags& flags, StoreResult& result) {
  SqliteStore store = check(SqliteStore::open(file, SqliteStore::Options{.index_fields = index_fields, .page_cache_mib = SqliteStore::Options::kBulkInsertCacheMib}), "open");
  check(store.add_schema(schema), "add_schema");

  std::mt19937_64 rng(42);
  Clock::duration inserting{};
  Clock::duration inserting_first{};
  const std::size_t first_rows = std::min(rows, kPayloadIndexedRows);
  for (std::size_t first = 1; first <= rows; first += kBatch) {
    Json batch = Json::array();
    for (std::size_t id = first; id < first + kBatch && id <= rows; ++id) batch.push_back(make_row(id, flags.row_bytes, rng));
    const auto start = Clock::now();
    check(store.insert_rows(kSchema, batch), "insert_rows");
    const auto took = Clock::now() - start;
    inserting += took;
    if (first <= first_rows) inserting_first += took;
  }
  const auto per_s = [](std::size_t n, Clock::duration d) {
    return std::round(static_cast<double>(n) / std::chrono::duration<double>(d).count());
  };
  result.insert_rows_per_s = per_s(rows, inserting);
  // Batches are kBatch rows, so the prefix timed is a whole number of batches.
  const std::size_t first_timed = std::min(rows, (first_rows + kBatch - 1) / kBatch * kBatch);
  result.insert_rows_per_s_first = per_s(first_timed, inserting_first);
  return store;
}

Latencies measure_local(SqliteStore& store, const SchemaDefinition& schema, const QuerySet& queries, const Flags& flags) {
  return measure_all(queries, flags, [&](const Json& filter, Latency&) {
    return check(store.query(schema, kFields, filter), "query")[0].size();
  });
}

// A node on 127.0.0.1 with an ephemeral port and identity, nothing but the one peer it
// is told about: no discovery, DHT, relays or port mapping.
std::unique_ptr<net::NetworkCore> start_node() {
  net::NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.network_name = "datafold-store-bench";
  config.enable_discovery = false;
  config.enable_dht = false;
  config.port_mapping = false;
  config.use_relays = net::NetworkConfig::RelayUse::Never;
  // A scan of a large unindexed store may take longer than the default deadline.
  config.request_timeout = std::chrono::minutes(10);
  // The bench asks as fast as answers come; the per-peer request limit would time the limiter.
  config.max_requests_per_second_per_peer = 0;
  auto node = std::make_unique<net::NetworkCore>(check(net::NetworkCore::create(std::move(config), net::NodeId{}, std::nullopt), "node"));
  check(node->start(), "node start");
  return node;
}

// Starts a node answering from `store` as `datafold node` does, and a node asking it
// (already connected), then times the queries.
Latencies measure_network(SqliteStore& store, const QuerySet& queries, const Flags& flags) {
  struct InCallback {
    std::atomic<std::int64_t> nanos{0};
    std::atomic<std::size_t> pages{0};
  } in_callback;
  auto server = start_node();
  server->set_page_callback([&store, &in_callback](const net::Query& query, const net::PageRequest& page,
                                                   const net::RequestContext& requester) {
    const auto start = Clock::now();
    net::QueryPage answer = datafold::store::answer_query_page(store, query, requester, page);
    in_callback.nanos += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    in_callback.pages += 1;
    return answer;
  });
  auto client = start_node();
  net::NodeInfo info;
  info.node_id = server->local_node_id();
  info.public_key = server->public_key();
  info.address = "127.0.0.1:" + std::to_string(server->listen_port());
  client->add_known_node(info);
  check(client->connect_to_node(info.node_id), "connect");

  Latencies out = measure_all(queries, flags, [&](const Json& filter, Latency& latency) {
    in_callback.nanos = 0;
    in_callback.pages = 0;
    auto answer = check(client->query_node(info.node_id, net::Query{std::string(kSchema), kFields, "", 0, filter}),
                        "query_node");
    for (const auto& field : answer.results) {
      if (!field.ok()) {
        std::fprintf(stderr, "store_bench: query_node: field %s: %s\n", field.field.c_str(), field.error().message.c_str());
        std::exit(1);
      }
    }
    // query_node returns once the last part is in, after the callback made it.
    latency.answer_micros.push_back(static_cast<double>(in_callback.nanos.load()) / 1000);
    latency.pages.push_back(in_callback.pages.load());
    const auto* id = answer.find("id");
    return id == nullptr ? std::size_t{0} : id->value().size();
  });
  (void)client->stop();
  (void)server->stop();
  return out;
}

// Whether `a` and `b` gave the same row counts for every query both ran.
bool agree(const Latency& a, const Latency& b) {
  const std::size_t n = std::min(a.answer_rows.size(), b.answer_rows.size());
  return n > 0 && std::equal(a.answer_rows.begin(), a.answer_rows.begin() + static_cast<std::ptrdiff_t>(n),
                             b.answer_rows.begin());
}
bool agree(const Latencies& a, const Latencies& b) {
  return agree(a.group_eq, b.group_eq) && agree(a.key_lookup, b.key_lookup) && agree(a.key_range, b.key_range);
}

Json to_json(const Latencies& l) {
  return Json{{"group_eq", l.group_eq.to_json()},
              {"key_lookup", l.key_lookup.to_json()},
              {"key_range_100", l.key_range.to_json()}};
}

double ratio(double a, double b) { return b > 0 ? std::round(a / b * 10) / 10 : 0; }

// a's p50 and p99 over b's, per query kind.
Json ratios(const Latencies& a, const Latencies& b) {
  return Json{{"group_eq_p50", ratio(a.group_eq.p50(), b.group_eq.p50())},
              {"group_eq_p99", ratio(a.group_eq.p99(), b.group_eq.p99())},
              {"key_lookup_p50", ratio(a.key_lookup.p50(), b.key_lookup.p50())},
              {"key_lookup_p99", ratio(a.key_lookup.p99(), b.key_lookup.p99())},
              {"key_range_100_p50", ratio(a.key_range.p50(), b.key_range.p50())},
              {"key_range_100_p99", ratio(a.key_range.p99(), b.key_range.p99())}};
}

Json to_json(const StoreResult& r, std::size_t rows) {
  Json out = to_json(r.local);
  out["insert_rows_per_s"] = r.insert_rows_per_s;
  out["insert_rows_per_s_first_" + std::to_string(std::min(rows, kPayloadIndexedRows))] = r.insert_rows_per_s_first;
  out["file_bytes"] = r.file_bytes;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = parse_flags(argc, argv);
  std::string pattern = (flags.dir / "store-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) usage("cannot make a temp dir under --dir");
  const std::filesystem::path dir = pattern;

  const auto started = Clock::now();
  const SchemaDefinition schema = bench_schema(false);
  const QuerySet queries = make_queries(flags);

  StoreResult indexed, unindexed, payload_indexed;
  SqliteStore indexed_store = fill(dir / "indexed.sqlite", true, schema, flags.rows, flags, indexed);
  indexed.file_bytes = file_bytes(dir / "indexed.sqlite");
  indexed.local = measure_local(indexed_store, schema, queries, flags);
  SqliteStore unindexed_store = fill(dir / "unindexed.sqlite", false, schema, flags.rows, flags, unindexed);
  unindexed.file_bytes = file_bytes(dir / "unindexed.sqlite");
  unindexed.local = measure_local(unindexed_store, schema, queries, flags);
  const std::size_t payload_rows = std::min(flags.rows, kPayloadIndexedRows);
  {
    const auto file = dir / "payload-indexed.sqlite";
    (void)fill(file, true, bench_schema(true), payload_rows, flags, payload_indexed);
    payload_indexed.file_bytes = file_bytes(file);
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix, ignored);
  }

  const Latencies network_indexed = measure_network(indexed_store, queries, flags);
  const Latencies network_unindexed = measure_network(unindexed_store, queries, flags);

  const bool local_agree = agree(indexed.local, unindexed.local);
  const bool network_agree = agree(network_indexed, indexed.local) && agree(network_unindexed, unindexed.local);
  const std::string first_key = "insert_rows_per_s_first_" + std::to_string(payload_rows);
  Json out{
      {"rows", flags.rows},
      {"row_bytes", flags.row_bytes},
      {"batch_rows", kBatch},
      {"indexed", to_json(indexed, flags.rows)},
      {"unindexed", to_json(unindexed, flags.rows)},
      {"unindexed_over_indexed",
       [&] {
         Json r = ratios(unindexed.local, indexed.local);
         r["insert_rows_per_s"] = ratio(unindexed.insert_rows_per_s, indexed.insert_rows_per_s);
         return r;
       }()},
      {"indexed_payload_too",
       {{"rows", payload_rows},
        {"insert_rows_per_s", payload_indexed.insert_rows_per_s},
        {"file_bytes", payload_indexed.file_bytes},
        // The main indexed store's rate over the same first rows, over this one's.
        {"payload_unindexed_over_indexed_" + first_key,
         ratio(indexed.insert_rows_per_s_first, payload_indexed.insert_rows_per_s)}}},
      {"network",
       {{"indexed", to_json(network_indexed)},
        {"unindexed", to_json(network_unindexed)},
        {"unindexed_over_indexed", ratios(network_unindexed, network_indexed)},
        {"network_over_local", {{"indexed", ratios(network_indexed, indexed.local)},
                                {"unindexed", ratios(network_unindexed, unindexed.local)}}}}},
      {"answers_agree", local_agree && network_agree},
      {"answers_agree_detail", {{"local_indexed_unindexed", local_agree}, {"network_local", network_agree}}},
      {"seconds", std::round(std::chrono::duration<double>(Clock::now() - started).count())}};
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  std::printf("%s\n", out.dump(2).c_str());
  return local_agree && network_agree ? 0 : 1;
}
