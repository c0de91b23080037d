// One `datafold node` per data dir: two processes with one identity and one store would
// answer as the same node, cut each other's connections and write the same files. The
// node holds this lock for as long as it runs; the kernel releases it when the process
// ends, so a crash leaves nothing to clean up by hand (running_node.hpp has the files).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <datafold/net/error.hpp>

#include "running_node.hpp"

namespace datafold::app {

class DataDirLock {
 public:
  // Takes `data_dir`'s lock (creating node.lock, mode 0600), and removes the record a
  // crashed node may have left. Config error if another process holds the lock, naming
  // that node (pid and addresses) and what to do; Config error if the file cannot be
  // opened or locked.
  static net::NetworkResult<DataDirLock> acquire(const std::filesystem::path& data_dir);

  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&&) = delete;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  // Removes the record; closing the descriptor releases the lock.
  ~DataDirLock();

  // Writes node.json (replaced whole: a reader sees the old record or the new one) with
  // this process's pid and where `node_id` listens. Config error if it cannot be written.
  net::NetworkResult<void> publish(const std::string& node_id, const std::string& listen,
                                   const std::optional<std::string>& http) const;

 private:
  DataDirLock(std::filesystem::path data_dir, int fd) : data_dir_(std::move(data_dir)), fd_(fd) {}

  std::filesystem::path data_dir_;
  int fd_ = -1;
};

}  // namespace datafold::app
