#include "load/round_medians.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace datafold::bench {
namespace {

// Field `field` of `key` in each round where it is a number, and whether every one of
// those is an integer (a count stays a count).
struct Numbers {
  std::vector<double> values;
  bool integers = true;
};

Numbers numbers_of(const std::vector<nlohmann::ordered_json>& rounds, const std::string& key,
                   const std::string& field) {
  Numbers out;
  for (const auto& round : rounds) {
    const auto group = round.find(key);
    if (group == round.end() || !group->is_object()) continue;
    const auto value = group->find(field);
    if (value == group->end() || !value->is_number()) continue;
    out.values.push_back(value->get<double>());
    out.integers = out.integers && value->is_number_integer();
  }
  return out;
}

nlohmann::ordered_json median(Numbers numbers) {
  auto& values = numbers.values;
  if (values.empty()) return nullptr;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  const double middle = values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  if (numbers.integers) return static_cast<std::int64_t>(std::llround(middle));
  return middle;
}

}  // namespace

nlohmann::ordered_json median_of_rounds(const std::vector<nlohmann::ordered_json>& rounds) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (rounds.empty()) return out;
  for (const auto& [key, first] : rounds.front().items()) {
    if (!first.is_object()) continue;
    nlohmann::ordered_json merged = first;
    for (auto& [field, value] : merged.items()) {
      // A field that is a number in some round (or null in all, like a ratio whose floor
      // did nothing) is a measurement; any other is a label, the same in every round.
      if (!value.is_number() && !value.is_null()) continue;
      auto numbers = numbers_of(rounds, key, field);
      if (field == "errors") {
        double total = 0;
        for (const double v : numbers.values) total += v;
        value = static_cast<std::uint64_t>(total);
      } else {
        value = median(std::move(numbers));
      }
    }
    out[key] = std::move(merged);
  }
  return out;
}

}  // namespace datafold::bench
