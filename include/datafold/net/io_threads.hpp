// IoThreads: I/O threads several nodes of one process run on together
// (NetworkConfig::shared_io), instead of each starting io_threads of its own. One
// thread then serves every node's sockets, as one event loop serves many
// connections: a process with many nodes (a gateway for several identities, a
// load generator, a simulation) spends a thread per core rather than one per node.
//
// Nodes hold the threads only while they run: the threads stop once the last
// holder of the shared_ptr lets go and no node is running on them. A node's
// callbacks given RunOn::IoThread run on these threads, so a slow one there holds
// up every node on them; the blocking calls of any node refuse to run on them
// (Config error), as they refuse on a node's own I/O threads.
#pragma once

#include <cstddef>
#include <memory>

#include "datafold/net/error.hpp"

namespace datafold::net {

class IoThreads {
 public:
  // Starts `count` threads (1 to 64; a Config error otherwise).
  static NetworkResult<std::shared_ptr<IoThreads>> start(std::size_t count = 1);
  // Stops and joins the threads (from one of them, a thread of their own does it
  // once that one is back in its loop). Whatever stopped nodes left queued there
  // is destroyed unrun.
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  std::size_t size() const noexcept;

  struct Impl;  // src/node/io_threads_impl.hpp
  Impl& impl() const noexcept { return *impl_; }

 private:
  explicit IoThreads(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace datafold::net
