#include "load_client.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <utility>

#include <datafold/net/identity.hpp>

namespace datafold::app {

// What the completion handlers touch. They hold it by shared_ptr, so a late completion
// never reaches freed memory whatever order things are torn down in.
struct LoadClient::Tally {
  // Used only to issue the next query, which happens only before the deadline; the
  // client outlives the deadline (stop() joins the handler thread before the core goes).
  net::NetworkCore* core = nullptr;
  net::NodeId target;
  net::Query query;
  ReplyCheck check;
  std::size_t in_flight = 1;
  BenchClock::time_point measure_from{};
  BenchClock::time_point deadline{};
  std::atomic<bool> stopping{false};

  // Written only by completions of answered queries that arrive by the deadline,
  // and those run on the client's single I/O thread (RunOn::IoThread): no lock
  // needed. (An error found as a query is issued goes to the handler pool, and an
  // error records no latency; stop() comes after the deadline, so nothing late records.)
  bench::LatencyRecorder latencies;
  // Every query answered as expected, whenever: read from another thread as the
  // measured window opens and closes.
  std::atomic<std::uint64_t> answered{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::size_t> outstanding{0};

  std::mutex mutex;  // guards first_error and pairs with `idle`
  std::condition_variable idle;
  std::string first_error;
};

void LoadClient::on_reply(const std::shared_ptr<Tally>& tally, BenchClock::time_point sent,
                          net::NetworkResult<net::QueryResult> reply) {
  const auto now = BenchClock::now();
  const bool ok = reply.ok() && (!tally->check || tally->check(*reply));
  if (ok) {
    tally->answered.fetch_add(1, std::memory_order_relaxed);
    if (now >= tally->measure_from && now <= tally->deadline) tally->latencies.record(now - sent);
  } else {
    tally->errors.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(tally->mutex);
    if (tally->first_error.empty())
      tally->first_error = reply.ok() ? "unexpected reply" : reply.error().to_string();
  }
  // The next query goes out before this one is counted done, so `outstanding` only
  // reaches zero once the client has stopped issuing.
  if (now < tally->deadline && !tally->stopping.load()) issue(tally);
  if (tally->outstanding.fetch_sub(1) == 1) {
    { std::lock_guard lock(tally->mutex); }  // a waiter between its check and its wait sees the 0
    tally->idle.notify_all();
  }
}

void LoadClient::issue(const std::shared_ptr<Tally>& tally) {
  tally->outstanding.fetch_add(1);
  const auto sent = BenchClock::now();
  // On the client's I/O thread (one at a time: its recorder needs no lock): the reply
  // is counted and the next query sent without a hand-off to another thread.
  tally->core->async_query_node(
      tally->target, tally->query,
      [tally, sent](net::NetworkResult<net::QueryResult> reply) { on_reply(tally, sent, std::move(reply)); },
      net::RunOn::IoThread);
}

net::NetworkResult<std::unique_ptr<LoadClient>> LoadClient::connect(const LoadClientOptions& options,
                                                                    net::Query query, ReplyCheck check) {
  auto identity = net::Identity::generate();
  if (!identity) return std::move(identity).error();

  net::NetworkConfig config;
  config.accept_connections = false;
  // A load client dials only its target. Answering the target's reachability checks
  // would add handshakes (and their CPU) to the measured load.
  config.answer_dial_back = false;
  config.identity = std::move(*identity);
  config.network_name = options.network_name;
  config.io_threads = 1;
  config.shared_io = options.io;
  config.handler_threads = 1;  // only for errors found as a query is issued
  config.connect_timeout = options.timeout;
  config.handshake_timeout = options.timeout;
  config.request_timeout = options.timeout;
  if (options.in_flight > config.max_in_flight_per_connection)
    config.max_in_flight_per_connection = options.in_flight;

  auto core = net::NetworkCore::create(std::move(config), net::NodeId{}, std::nullopt);
  if (!core) return std::move(core).error();
  if (auto started = core->start(); !started) return std::move(started).error();
  auto target = core->connect_to_address(options.target);
  if (!target) return std::move(target).error();

  auto tally = std::make_shared<Tally>();
  tally->query = std::move(query);
  tally->check = std::move(check);
  tally->in_flight = options.in_flight;
  tally->target = *target;
  return std::unique_ptr<LoadClient>(new LoadClient(std::move(*core), *target, std::move(tally)));
}

LoadClient::LoadClient(net::NetworkCore core, net::NodeId target, std::shared_ptr<Tally> tally)
    : core_(std::move(core)), target_(target), tally_(std::move(tally)) {
  tally_->core = &core_;
}

LoadClient::~LoadClient() { stop(); }

net::NetworkResult<net::QueryResult> LoadClient::query_once() { return core_.query_node(target_, tally_->query); }

void LoadClient::start(BenchClock::time_point measure_from, BenchClock::time_point deadline) {
  // Set before the first query is issued: completions, which read them on the handler
  // thread, are posted there after this point.
  tally_->measure_from = measure_from;
  tally_->deadline = deadline;
  for (std::size_t i = 0; i < tally_->in_flight; ++i) issue(tally_);
}

bool LoadClient::wait_idle(BenchClock::time_point until) {
  std::unique_lock lock(tally_->mutex);
  return tally_->idle.wait_until(lock, until, [&] { return tally_->outstanding.load() == 0; });
}

void LoadClient::stop() {
  if (stopped_) return;
  stopped_ = true;
  tally_->stopping = true;
  (void)core_.stop();
  // A completion the stopping node dropped without calling is a query that never ended.
  const auto lost = tally_->outstanding.exchange(0);
  tally_->errors += lost;
  if (lost > 0) {
    std::lock_guard lock(tally_->mutex);
    if (tally_->first_error.empty()) tally_->first_error = "queries still outstanding when the client stopped";
  }
}

const bench::LatencyRecorder& LoadClient::latencies() const { return tally_->latencies; }
std::uint64_t LoadClient::errors() const { return tally_->errors.load(); }
std::uint64_t LoadClient::answered() const { return tally_->answered.load(std::memory_order_relaxed); }
std::string LoadClient::first_error() const {
  std::lock_guard lock(tally_->mutex);
  return tally_->first_error;
}

}  // namespace datafold::app
