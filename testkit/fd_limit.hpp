#pragma once

#include <cstddef>

namespace datafold::testkit {

// Raises this process's soft RLIMIT_NOFILE to its hard limit (children inherit it)
// and returns the soft limit now in force; 0 if it cannot be read.
std::size_t raise_fd_limit() noexcept;

}  // namespace datafold::testkit
