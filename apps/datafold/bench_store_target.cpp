#include "bench_store_target.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <utility>

#include "datafold/net/host_port.hpp"
#include "store/sample_data.hpp"
#include "store_serving.hpp"

namespace datafold::app {

net::NetworkResult<std::unique_ptr<StoreTarget>> StoreTarget::start(const std::string& network_name,
                                                                     std::size_t max_connections) {
  std::unique_ptr<StoreTarget> target(new StoreTarget());
  std::error_code ec;
  std::string pattern = (std::filesystem::temp_directory_path(ec) / "datafold-bench-store-XXXXXX").string();
  if (ec || ::mkdtemp(pattern.data()) == nullptr)
    return net::make_error(net::ErrorKind::Config,
                           "cannot make a temporary directory for the store: " + std::string(std::strerror(errno)));
  target->dir_ = pattern;

  auto opened = store::SqliteStore::open(target->dir_ / "store.sqlite");
  if (!opened) return std::move(opened).error();
  target->data_ = std::make_shared<store::SqliteStore>(std::move(*opened));
  if (auto seeded = store::seed_sample(*target->data_); !seeded) return std::move(seeded).error();

  net::NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.network_name = network_name;
  config.max_connections = max_connections;
  config.max_requests_per_second_per_peer = 0;
  configure_for_store(config);
  auto core = net::NetworkCore::create(std::move(config), net::NodeId{}, std::nullopt);
  if (!core) return std::move(core).error();
  target->core_.emplace(std::move(*core));
  serve_store(*target->core_, target->data_);
  if (auto started = target->core_->start(); !started) return std::move(started).error();
  return target;
}

StoreTarget::~StoreTarget() {
  if (core_) (void)core_->stop();
  core_.reset();
  data_.reset();
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

std::string StoreTarget::address() const { return net::HostPort{"127.0.0.1", core_->listen_port()}.to_string(); }

std::size_t StoreTarget::rows() { return store::sample_rows().size(); }

}  // namespace datafold::app
