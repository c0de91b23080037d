#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace datafold::bench {

class LatencyRecorder;
struct WindowEdge;

// The shape of a load: `connections` x `in_flight` requests kept outstanding for
// `duration`, each request and response carrying the given payload sizes.
struct LoadSpec {
  std::size_t connections = 1;
  std::size_t in_flight = 1;
  std::chrono::milliseconds duration{3000};
  std::size_t request_bytes = 64;
  std::size_t response_bytes = 128;
};

// What one load run measured. Latencies are in microseconds; cpu_seconds is the whole
// process's user+sys over the measured window; peak_rss_kib is the process high-water
// mark at the end of the window (it includes everything the process did before).
struct LoadReport {
  std::string name;
  LoadSpec spec;
  std::uint64_t completed = 0;
  std::uint64_t errors = 0;
  double seconds = 0;
  double qps = 0;
  double p50_us = 0, p99_us = 0, max_us = 0;
  double cpu_seconds = 0;
  // The kernel's part of cpu_seconds (getrusage's system time): system calls, and on
  // loopback the TCP work of both ends, which user-space changes cannot reach.
  double system_seconds = 0;
  std::uint64_t peak_rss_kib = 0;
  // Empty on success; why the run could not be made (setup failure), for the operator.
  std::string error;

  // CPU (user + system, the whole process) per completed request, in microseconds: a
  // cost that, unlike q/s, hardly moves when other work shares the machine. 0 when
  // nothing completed.
  double cpu_us_per_request() const;
  // Of that, the kernel's (system_seconds), in microseconds; 0 when nothing completed.
  double system_us_per_request() const;

  // Flat object: name, the spec fields (connections, in_flight, duration_ms,
  // request_bytes, response_bytes), then the measurements ("cpu_us_per_query" is
  // cpu_us_per_request() and "system_us_per_query" system_us_per_request(), each null
  // when nothing completed); "error" only when set.
  nlohmann::json to_json() const;
  // The inverse of to_json, for a report another process printed (a bench's peer).
  // Throws nlohmann::json::exception when a field is missing or of the wrong type.
  static LoadReport from_json(const nlohmann::json& j);
};

// A report for a run that could not be made (setup failed): every connection counts
// as an error and `error` says why.
LoadReport failed_report(std::string name, const LoadSpec& spec, std::string why);

// Builds a report from a finished run: completed = what was answered between the
// window's edges, qps and CPU over the window as it really was (opened to closed);
// latencies are those the load timed.
LoadReport make_report(std::string name, const LoadSpec& spec, const LatencyRecorder& latencies,
                       std::uint64_t errors, const WindowEdge& opened, const WindowEdge& closed);

// {"subject", "floor", "qps_ratio" (subject/floor; < 1 means slower than the floor),
//  "p50_ratio", "p99_ratio", "cpu_ratio" (CPU per request; subject/floor; > 1 means
//  slower or costlier)}; a ratio whose denominator is 0 is null.
nlohmann::json compare(const LoadReport& subject, const LoadReport& floor);

}  // namespace datafold::bench
