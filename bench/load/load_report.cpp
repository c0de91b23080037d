#include "load/load_report.hpp"

#include <algorithm>

#include "load/latency_recorder.hpp"
#include "load/measured_window.hpp"
#include "load/process_usage.hpp"

namespace datafold::bench {
namespace {

nlohmann::json ratio(double numerator, double denominator) {
  if (denominator == 0) return nullptr;
  return numerator / denominator;
}

}  // namespace

double LoadReport::cpu_us_per_request() const {
  return completed == 0 ? 0 : cpu_seconds * 1e6 / static_cast<double>(completed);
}

double LoadReport::system_us_per_request() const {
  return completed == 0 ? 0 : system_seconds * 1e6 / static_cast<double>(completed);
}

nlohmann::json LoadReport::to_json() const {
  nlohmann::json j = {
      {"name", name},
      {"connections", spec.connections},
      {"in_flight", spec.in_flight},
      {"duration_ms", spec.duration.count()},
      {"request_bytes", spec.request_bytes},
      {"response_bytes", spec.response_bytes},
      {"completed", completed},
      {"errors", errors},
      {"seconds", seconds},
      {"qps", qps},
      {"p50_us", p50_us},
      {"p99_us", p99_us},
      {"max_us", max_us},
      {"cpu_seconds", cpu_seconds},
      {"cpu_us_per_query", completed == 0 ? nlohmann::json(nullptr) : nlohmann::json(cpu_us_per_request())},
      {"system_seconds", system_seconds},
      {"system_us_per_query", completed == 0 ? nlohmann::json(nullptr) : nlohmann::json(system_us_per_request())},
      {"peak_rss_kib", peak_rss_kib},
  };
  if (!error.empty()) j["error"] = error;
  return j;
}

LoadReport LoadReport::from_json(const nlohmann::json& j) {
  LoadReport r;
  r.name = j.at("name").get<std::string>();
  r.spec.connections = j.at("connections").get<std::size_t>();
  r.spec.in_flight = j.at("in_flight").get<std::size_t>();
  r.spec.duration = std::chrono::milliseconds(j.at("duration_ms").get<std::int64_t>());
  r.spec.request_bytes = j.at("request_bytes").get<std::size_t>();
  r.spec.response_bytes = j.at("response_bytes").get<std::size_t>();
  r.completed = j.at("completed").get<std::uint64_t>();
  r.errors = j.at("errors").get<std::uint64_t>();
  r.seconds = j.at("seconds").get<double>();
  r.qps = j.at("qps").get<double>();
  r.p50_us = j.at("p50_us").get<double>();
  r.p99_us = j.at("p99_us").get<double>();
  r.max_us = j.at("max_us").get<double>();
  r.cpu_seconds = j.at("cpu_seconds").get<double>();
  r.system_seconds = j.at("system_seconds").get<double>();
  r.peak_rss_kib = j.at("peak_rss_kib").get<std::uint64_t>();
  r.error = j.value("error", std::string());
  return r;
}

LoadReport failed_report(std::string name, const LoadSpec& spec, std::string why) {
  LoadReport r;
  r.name = std::move(name);
  r.spec = spec;
  r.errors = std::max<std::uint64_t>(spec.connections, 1);
  r.error = std::move(why);
  return r;
}

LoadReport make_report(std::string name, const LoadSpec& spec, const LatencyRecorder& latencies,
                       std::uint64_t errors, const WindowEdge& opened, const WindowEdge& closed) {
  const ProcessUsage& before = opened.usage;
  const ProcessUsage& after = closed.usage;
  LoadReport r;
  r.name = std::move(name);
  r.spec = spec;
  r.completed = closed.answered - opened.answered;
  r.errors = errors;
  r.seconds = std::chrono::duration<double>(closed.at - opened.at).count();
  r.qps = r.seconds > 0 ? static_cast<double>(r.completed) / r.seconds : 0;
  r.p50_us = latencies.percentile_us(50);
  r.p99_us = latencies.percentile_us(99);
  r.max_us = latencies.max_us();
  r.cpu_seconds = after.cpu_seconds - before.cpu_seconds;
  r.system_seconds = after.system_seconds - before.system_seconds;
  r.peak_rss_kib = after.peak_rss_kib;
  return r;
}

nlohmann::json compare(const LoadReport& subject, const LoadReport& floor) {
  return {
      {"subject", subject.name},
      {"floor", floor.name},
      {"qps_ratio", ratio(subject.qps, floor.qps)},
      {"p50_ratio", ratio(subject.p50_us, floor.p50_us)},
      {"p99_ratio", ratio(subject.p99_us, floor.p99_us)},
      {"cpu_ratio", ratio(subject.cpu_us_per_request(), floor.cpu_us_per_request())},
  };
}

}  // namespace datafold::bench
