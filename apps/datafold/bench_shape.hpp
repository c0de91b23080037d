// A load shape for `datafold bench`: connections x queries in flight per connection.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace datafold::app {

struct BenchShape {
  std::size_t connections = 1;
  std::size_t in_flight = 1;

  std::string to_string() const;  // "16x16"
};

// Each client is a whole node (two threads); past this the machine measures itself.
inline constexpr std::size_t kMaxBenchConnections = 256;
// The library's default cap on requests in flight per connection.
inline constexpr std::size_t kMaxBenchInFlight = 1024;

// "1x1,1x64,16x16". nullopt if any item is malformed or outside the limits above.
std::optional<std::vector<BenchShape>> parse_bench_shapes(std::string_view text);

}  // namespace datafold::app
