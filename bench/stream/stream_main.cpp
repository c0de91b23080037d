// stream_bench: one answer of any size, from a node on the embedded store to another
// node, in parts under credit (docs/PROTOCOL.md 7.8). Prints one JSON object: rows and
// bytes received (every row checked once, in order), throughput, and each process's
// idle and peak memory (VmRSS / VmHWM), against a ceiling of 64 MiB above idle.
//
// The answering node runs in its own process (forked before any thread starts) over a
// real SqliteStore the bench fills first, in another child, so neither the filling nor
// the asker's memory shows in the answerer's figures. Its page callback is the one
// `datafold node` uses (store::answer_query_page).
//
//   stream_bench [--rows 1000000] [--row-bytes 1000] [--window 8]
//                [--slow-seconds N]   read one part a second for N s, then cancel:
//                                     the answerer's memory over time, and the
//                                     parts it made after the cancel
//                [--dir PATH]         where the store goes (default: a temp dir, removed)
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "load/child_pipe.hpp"
#include "datafold/net/network_core.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_query_handler.hpp"

namespace datafold::bench {
namespace {

using net::Json;
using Clock = std::chrono::steady_clock;

constexpr const char* kSchema = "Big";
constexpr std::uint64_t kCeilingKib = 64 * 1024;

struct Options {
  std::uint64_t rows = 1'000'000;
  std::size_t row_bytes = 1000;
  std::uint32_t window = 8;
  int slow_seconds = 0;
  std::filesystem::path dir;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "stream_bench: " << why
            << "\nusage: stream_bench [--rows N] [--row-bytes N] [--window N] [--slow-seconds N] [--dir PATH]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--rows") o.rows = std::stoull(value());
      else if (arg == "--row-bytes") o.row_bytes = std::stoul(value());
      else if (arg == "--window") o.window = static_cast<std::uint32_t>(std::stoul(value()));
      else if (arg == "--slow-seconds") o.slow_seconds = std::stoi(value());
      else if (arg == "--dir") o.dir = value();
      else usage("unknown option " + arg);
    } catch (const std::exception&) {
      usage(arg + ": not a number");
    }
  }
  if (o.rows == 0 || o.row_bytes == 0 || o.window == 0) usage("--rows, --row-bytes and --window must be positive");
  return o;
}

// A line of /proc/<pid>/status in KiB ("VmRSS", "VmHWM"); 0 if unreadable.
std::uint64_t status_kib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
  return 0;
}

// Restarts VmHWM at the current RSS (Linux: "5" to clear_refs), so a peak is the
// streaming's alone, not start-up's.
void reset_peak(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
}

store::SchemaDefinition big_schema() {
  auto schema = store::schema_from_json(Json{
      {"name", kSchema},
      {"fields",
       {{"n", {{"type", "integer"}, {"permission_policy", {{"read_policy", {{"NoRequirement", nullptr}}}}}}},
        // Free text nobody filters on: no index (its index would cost inserts, not help reads).
        {"payload",
         {{"type", "string"}, {"index", false}, {"permission_policy", {{"read_policy", {{"NoRequirement", nullptr}}}}}}}}}});
  if (!schema) usage("schema: " + schema.error().message);
  return *schema;
}

// In a child: fills the store. Returns the seconds it took.
double fill_store(const Options& o, const std::filesystem::path& file) {
  const auto started = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) usage("fork failed");
  if (pid == 0) {
    store::SqliteStore::Options bulk;
    bulk.page_cache_mib = store::SqliteStore::Options::kBulkInsertCacheMib;
    auto db = store::SqliteStore::open(file, bulk);
    if (!db || !db->add_schema(big_schema())) std::_Exit(3);
    const std::string payload(o.row_bytes > 40 ? o.row_bytes - 40 : 1, 'p');
    constexpr std::uint64_t kBatch = 10'000;
    for (std::uint64_t first = 1; first <= o.rows; first += kBatch) {
      Json batch = Json::array();
      for (std::uint64_t n = first; n < first + kBatch && n <= o.rows; ++n)
        batch.push_back(Json{{"n", n}, {"payload", payload}});
      if (!db->insert_rows(kSchema, batch)) std::_Exit(4);
    }
    std::_Exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) usage("filling the store failed");
  return std::chrono::duration<double>(Clock::now() - started).count();
}


// The answering node, in a child process. It reports "<port> <node id> <public key>",
// then answers each byte on `control` with the number of pages it has made, and
// stops when `control` closes.
struct Answerer {
  pid_t pid = -1;
  int control = -1;
  int report = -1;
  std::uint16_t port = 0;
  net::NodeId id;
  net::PublicKey key;

  std::uint64_t pages_made() {
    (void)!::write(control, "p", 1);
    auto line = read_line(report, std::chrono::seconds(10));
    return line ? std::strtoull(line->c_str(), nullptr, 10) : 0;
  }
  void stop() {
    ::close(control);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
};

Answerer start_answerer(const std::filesystem::path& file) {
  int report[2], control[2];
  if (::pipe2(report, O_CLOEXEC) != 0 || ::pipe2(control, O_CLOEXEC) != 0) usage("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) usage("fork failed");
  if (pid == 0) {
    ::dup2(STDERR_FILENO, STDOUT_FILENO);  // stdout is the bench's JSON
    ::close(report[0]);
    ::close(control[1]);
    auto db = store::SqliteStore::open(file);
    if (!db) std::_Exit(3);
    auto data = std::make_shared<store::SqliteStore>(std::move(*db));
    auto pages = std::make_shared<std::atomic<std::uint64_t>>(0);
    net::NetworkConfig config;
    config.listen_address = "127.0.0.1";
    config.listen_port = 0;
    config.network_name = "stream-bench";
    config.enable_discovery = false;
    config.use_relays = net::NetworkConfig::RelayUse::Never;
    auto node = net::NetworkCore::create(std::move(config), net::NodeId{}, std::nullopt);
    if (!node) std::_Exit(4);
    node->set_page_callback([data, pages](const net::Query& q, const net::PageRequest& p, const net::RequestContext& r) {
      ++*pages;
      return store::answer_query_page(*data, q, r, p);
    });
    if (!node->start()) std::_Exit(5);
    write_line(report[1], std::to_string(node->listen_port()) + " " + node->local_node_id().to_string() + " " +
                              node->public_key().to_string());
    char byte = 0;
    for (;;) {
      const auto n = ::read(control[0], &byte, 1);
      if (n == 0 || (n < 0 && errno != EINTR)) break;
      if (n == 1) write_line(report[1], std::to_string(pages->load()));
    }
    (void)node->stop();
    std::_Exit(0);
  }
  ::close(report[1]);
  ::close(control[0]);
  Answerer a;
  a.pid = pid;
  a.control = control[1];
  a.report = report[0];
  auto line = read_line(report[0], std::chrono::seconds(30));
  if (!line) usage("the answering node did not start");
  char id_text[128] = {}, key_text[128] = {};
  unsigned port = 0;
  if (std::sscanf(line->c_str(), "%u %127s %127s", &port, id_text, key_text) != 3) usage("answerer said: " + *line);
  a.port = static_cast<std::uint16_t>(port);
  a.id = *net::NodeId::from_string(id_text);
  a.key = *net::PublicKey::from_string(key_text);
  return a;
}

double mib(std::uint64_t kib) { return static_cast<double>(kib) / 1024.0; }

Json memory_of(std::uint64_t idle_kib, std::uint64_t peak_kib) {
  const std::uint64_t over = peak_kib > idle_kib ? peak_kib - idle_kib : 0;
  return Json{{"idle_mib", mib(idle_kib)},
              {"peak_mib", mib(peak_kib)},
              {"peak_over_idle_mib", mib(over)},
              {"ceiling_over_idle_mib", mib(kCeilingKib)},
              {"within_ceiling", over < kCeilingKib}};
}

int run(const Options& o) {
  const bool own_dir = o.dir.empty();
  const auto dir = own_dir ? std::filesystem::temp_directory_path() / ("stream-bench-" + std::to_string(::getpid()))
                           : o.dir;
  std::filesystem::create_directories(dir);
  const auto file = dir / "store.db";
  std::filesystem::remove(file);
  const double fill_seconds = fill_store(o, file);

  Answerer answerer = start_answerer(file);
  // The asker starts its threads only now: every fork is behind it.
  net::NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.accept_connections = false;
  config.network_name = "stream-bench";
  config.enable_discovery = false;
  config.use_relays = net::NetworkConfig::RelayUse::Never;
  auto asker = net::NetworkCore::create(std::move(config), net::NodeId{}, std::nullopt);
  if (!asker || !asker->start()) usage("the asking node did not start");
  net::NodeInfo info;
  info.node_id = answerer.id;
  info.public_key = answerer.key;
  info.address = "127.0.0.1:" + std::to_string(answerer.port);
  asker->add_known_node(info);
  if (auto connected = asker->connect_to_node(answerer.id); !connected) usage(connected.error().to_string());

  const pid_t self = ::getpid();
  const std::uint64_t asker_idle = status_kib(self, "VmRSS");
  const std::uint64_t answerer_idle = status_kib(answerer.pid, "VmRSS");
  reset_peak(self);
  reset_peak(answerer.pid);

  net::QueryStream::Options stream_options;
  stream_options.window = o.window;
  const auto started = Clock::now();
  auto stream = asker->stream_query(answerer.id, net::Query{kSchema, {"n", "payload"}, "", 0, std::nullopt},
                                    stream_options);
  if (!stream) usage(stream.error().to_string());

  std::uint64_t next_n = 1, parts = 0, bytes = 0;
  bool in_order = true;
  Json slow = Json::array();
  std::string failure;
  std::optional<std::uint64_t> pages_at_cancel, pages_after_cancel;
  for (;;) {
    auto part = (*stream)->next();
    if (!part) {
      failure = part.error().to_string();
      break;
    }
    if (!*part) break;
    ++parts;
    const auto* n = (*part)->find("n");
    const auto* payload = (*part)->find("payload");
    if (n == nullptr || !n->ok() || payload == nullptr || !payload->ok()) {
      failure = "a part without its fields";
      break;
    }
    for (const auto& v : n->value()) {
      if (v.get<std::uint64_t>() != next_n) in_order = false;
      ++next_n;
    }
    for (const auto& v : payload->value()) bytes += v.get_ref<const std::string&>().size() + 8;
    if (o.slow_seconds > 0) {
      slow.push_back(Json{{"second", parts}, {"answerer_rss_mib", mib(status_kib(answerer.pid, "VmRSS"))},
                          {"pages_made", answerer.pages_made()}});
      if (static_cast<int>(parts) >= o.slow_seconds) {
        (*stream)->cancel();
        pages_at_cancel = answerer.pages_made();
        std::this_thread::sleep_for(std::chrono::seconds(1));
        pages_after_cancel = answerer.pages_made();
        break;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const std::uint64_t asker_peak = status_kib(self, "VmHWM");
  const std::uint64_t answerer_peak = status_kib(answerer.pid, "VmHWM");
  const std::uint64_t rows = next_n - 1;

  Json report{
      {"rows_in_store", o.rows},
      {"row_bytes", o.row_bytes},
      {"fill_seconds", fill_seconds},
      {"window_parts", o.window},
      {"rows_received", rows},
      {"every_row_once_in_order", in_order && (o.slow_seconds > 0 || rows == o.rows)},
      {"parts", parts},
      {"mean_part_kib", parts ? static_cast<double>(bytes) / 1024.0 / static_cast<double>(parts) : 0.0},
      {"payload_mib", static_cast<double>(bytes) / (1024.0 * 1024.0)},
      {"seconds", seconds},
      {"mib_per_second", seconds > 0 ? static_cast<double>(bytes) / (1024.0 * 1024.0) / seconds : 0.0},
      {"asker", memory_of(asker_idle, asker_peak)},
      {"answerer", memory_of(answerer_idle, answerer_peak)},
  };
  if (!failure.empty()) report["failure"] = failure;
  if (o.slow_seconds > 0) {
    report["slow_reader"] = slow;
    report["pages_made_at_cancel"] = *pages_at_cancel;
    report["pages_made_in_the_second_after_cancel"] = *pages_after_cancel - *pages_at_cancel;
  }
  std::cout << report.dump(2) << std::endl;

  (void)asker->stop();
  answerer.stop();
  if (own_dir) std::filesystem::remove_all(dir);
  return failure.empty() && in_order ? 0 : 1;
}

}  // namespace
}  // namespace datafold::bench

int main(int argc, char** argv) { return datafold::bench::run(datafold::bench::parse(argc, argv)); }
