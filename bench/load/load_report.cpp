#include "load/load_report.hpp"

#include "load/latency_recorder.hpp"
#include "load/process_usage.hpp"

namespace datafold::bench {
namespace {

nlohmann::json ratio(double numerator, double denominator) {
  if (denominator == 0) return nullptr;
  return numerator / denominator;
}

}  // namespace

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
      {"peak_rss_kib", peak_rss_kib},
  };
  if (!error.empty()) j["error"] = error;
  return j;
}

LoadReport make_report(std::string name, const LoadSpec& spec, const LatencyRecorder& latencies,
                       std::uint64_t errors, std::chrono::nanoseconds window,
                       const ProcessUsage& before, const ProcessUsage& after) {
  LoadReport r;
  r.name = std::move(name);
  r.spec = spec;
  r.completed = latencies.count();
  r.errors = errors;
  r.seconds = std::chrono::duration<double>(window).count();
  r.qps = r.seconds > 0 ? static_cast<double>(r.completed) / r.seconds : 0;
  r.p50_us = latencies.percentile_us(50);
  r.p99_us = latencies.percentile_us(99);
  r.max_us = latencies.max_us();
  r.cpu_seconds = after.cpu_seconds - before.cpu_seconds;
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
  };
}

}  // namespace datafold::bench
