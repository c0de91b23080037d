#include "load/shape_scaling.hpp"

#include <string>

namespace datafold::bench {
namespace {

// `figures["qps"]` when `figures` is an object holding a numeric one.
const nlohmann::ordered_json* qps_of(const nlohmann::ordered_json& figures) {
  if (!figures.is_object()) return nullptr;
  const auto qps = figures.find("qps");
  return qps != figures.end() && qps->is_number() ? &*qps : nullptr;
}

}  // namespace

nlohmann::ordered_json shape_scaling(const nlohmann::ordered_json& runs) {
  if (!runs.is_array() || runs.size() < 2) return nullptr;
  const auto& first = runs.front();
  nlohmann::ordered_json ratios = nlohmann::ordered_json::object();
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const auto& run = runs[i];
    nlohmann::ordered_json of_run = nlohmann::ordered_json::object();
    for (const auto& [key, figures] : run.items()) {
      const auto* now = qps_of(figures);
      const auto in_first = first.find(key);
      const auto* before = in_first != first.end() ? qps_of(*in_first) : nullptr;
      if (now == nullptr || before == nullptr || before->get<double>() <= 0) continue;
      of_run[key] = now->get<double>() / before->get<double>();
    }
    ratios[run.value("shape", "run " + std::to_string(i + 1))] = std::move(of_run);
  }
  return {{"against", first.value("shape", "run 1")}, {"qps_ratios", std::move(ratios)}};
}

}  // namespace datafold::bench
