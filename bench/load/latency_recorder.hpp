#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace datafold::bench {

// Records latencies into a log-linear histogram: values below 128 ns are kept exactly,
// larger ones in buckets 1/128 of their power of two wide, so any reported value is within
// 0.4% (half a bucket) of the true one. Memory is fixed at construction (about 59 KiB,
// covering the whole uint64 nanosecond range) and record() never allocates, so a recorder
// can sit in the hot path of a load generator.
//
// Not thread-safe: give each thread (or each connection, whose handlers are serialised)
// its own recorder and combine them with merge() or a LatencyAggregator.
class LatencyRecorder {
 public:
  LatencyRecorder();

  void record(std::chrono::nanoseconds latency) noexcept {
    record_ns(latency.count() < 0 ? 0 : static_cast<std::uint64_t>(latency.count()));
  }
  void record_ns(std::uint64_t ns) noexcept;

  // Adds every sample of `other` to this recorder.
  void merge(const LatencyRecorder& other) noexcept;
  void reset() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  // p in [0, 100]. Returns 0 when empty; p >= 100 returns the exact max.
  std::chrono::nanoseconds percentile(double p) const noexcept;
  std::chrono::nanoseconds max() const noexcept;
  std::chrono::nanoseconds min() const noexcept;
  std::chrono::nanoseconds mean() const noexcept;

  // Microsecond helpers for reports.
  double percentile_us(double p) const noexcept { return to_us(percentile(p)); }
  double max_us() const noexcept { return to_us(max()); }

 private:
  static double to_us(std::chrono::nanoseconds ns) noexcept {
    return static_cast<double>(ns.count()) / 1000.0;
  }

  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ns_ = UINT64_MAX;
  std::uint64_t max_ns_ = 0;
  // Sum for mean(); long double so hours of nanosecond samples don't round away.
  long double sum_ns_ = 0;
};

// Collects recorders handed in from many threads. add() and snapshot() may be called
// concurrently from any thread; the lock is held only for the bucket-wise add.
class LatencyAggregator {
 public:
  void add(const LatencyRecorder& recorder);
  LatencyRecorder snapshot() const;

 private:
  mutable std::mutex mutex_;
  LatencyRecorder total_;
};

}  // namespace datafold::bench
