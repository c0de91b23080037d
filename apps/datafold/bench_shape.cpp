#include "bench_shape.hpp"

#include <charconv>

namespace datafold::app {

namespace {

std::optional<std::size_t> parse_count(std::string_view text, std::size_t max) {
  std::size_t value = 0;
  const auto* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || stop != end || value == 0 || value > max) return std::nullopt;
  return value;
}

}  // namespace

std::string BenchShape::to_string() const {
  return std::to_string(connections) + "x" + std::to_string(in_flight);
}

std::optional<std::vector<BenchShape>> parse_bench_shapes(std::string_view text) {
  std::vector<BenchShape> shapes;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (comma != std::string_view::npos && text.empty()) return std::nullopt;  // trailing comma

    const auto x = item.find('x');
    if (x == std::string_view::npos) return std::nullopt;
    auto connections = parse_count(item.substr(0, x), kMaxBenchConnections);
    auto in_flight = parse_count(item.substr(x + 1), kMaxBenchInFlight);
    if (!connections || !in_flight) return std::nullopt;
    shapes.push_back(BenchShape{*connections, *in_flight});
  }
  if (shapes.empty()) return std::nullopt;
  return shapes;
}

}  // namespace datafold::app
