// What `datafold bench --store` loads: a node answering from a SQLite store seeded as
// `datafold node --sample` seeds it, served as `datafold node` serves it
// (store_serving.hpp), in a temporary data dir that goes with it.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <datafold/net/error.hpp>
#include <datafold/net/network_core.hpp>

#include "store/sqlite_store.hpp"

namespace datafold::app {

class StoreTarget {
 public:
  // Listens on 127.0.0.1 (a free port), with no per-peer rate limit: the bench measures
  // the node, not the limit. `max_connections` covers the largest shape.
  static net::NetworkResult<std::unique_ptr<StoreTarget>> start(const std::string& network_name,
                                                                std::size_t max_connections);
  ~StoreTarget();  // stops the node and removes its data dir
  StoreTarget(const StoreTarget&) = delete;
  StoreTarget& operator=(const StoreTarget&) = delete;

  // "127.0.0.1:<port>"
  std::string address() const;
  // The sample's rows: how many values each answer holds.
  static std::size_t rows();

 private:
  StoreTarget() = default;
  std::filesystem::path dir_;
  std::shared_ptr<store::SqliteStore> data_;
  std::optional<net::NetworkCore> core_;  // never moved once serving: the store refers to it
};

}  // namespace datafold::app
