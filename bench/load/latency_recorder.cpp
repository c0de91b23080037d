#include "load/latency_recorder.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace datafold::bench {
namespace {

// 2^7 sub-buckets per power of two: bucket width / value <= 1/128 (0.78%).
constexpr unsigned kSubBits = 7;
constexpr std::uint64_t kSubCount = std::uint64_t{1} << kSubBits;
// Values < kSubCount get one bucket each; each power of two from 2^7 to 2^63 gets kSubCount.
constexpr std::size_t kBucketCount = kSubCount + (64 - kSubBits) * kSubCount;

std::size_t bucket_of(std::uint64_t ns) noexcept {
  if (ns < kSubCount) return static_cast<std::size_t>(ns);
  const unsigned shift = static_cast<unsigned>(std::bit_width(ns)) - 1 - kSubBits;
  const std::uint64_t mantissa = ns >> shift;  // in [kSubCount, 2 * kSubCount)
  return static_cast<std::size_t>(kSubCount + shift * kSubCount + (mantissa - kSubCount));
}

// Lowest value and width of a bucket, inverse of bucket_of.
std::uint64_t bucket_low(std::size_t index) noexcept {
  if (index < kSubCount) return index;
  const std::uint64_t shift = (index - kSubCount) / kSubCount;
  const std::uint64_t mantissa = kSubCount + (index - kSubCount) % kSubCount;
  return mantissa << shift;
}

std::uint64_t bucket_width(std::size_t index) noexcept {
  if (index < kSubCount) return 1;
  return std::uint64_t{1} << ((index - kSubCount) / kSubCount);
}

}  // namespace

LatencyRecorder::LatencyRecorder() : buckets_(kBucketCount, 0) {}

void LatencyRecorder::record_ns(std::uint64_t ns) noexcept {
  ++buckets_[bucket_of(ns)];
  ++count_;
  min_ns_ = std::min(min_ns_, ns);
  max_ns_ = std::max(max_ns_, ns);
  sum_ns_ += static_cast<long double>(ns);
}

void LatencyRecorder::merge(const LatencyRecorder& other) noexcept {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kBucketCount; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  min_ns_ = std::min(min_ns_, other.min_ns_);
  max_ns_ = std::max(max_ns_, other.max_ns_);
  sum_ns_ += other.sum_ns_;
}

void LatencyRecorder::reset() noexcept {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = 0;
  min_ns_ = UINT64_MAX;
  max_ns_ = 0;
  sum_ns_ = 0;
}

std::chrono::nanoseconds LatencyRecorder::percentile(double p) const noexcept {
  if (count_ == 0) return std::chrono::nanoseconds{0};
  if (!(p < 100.0)) return max();
  if (!(p > 0.0)) return min();
  // Nearest-rank definition: the smallest sample with at least p% of samples <= it.
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      // Midpoint of the bucket halves the worst-case error; the exact extremes bound it.
      const std::uint64_t mid = bucket_low(i) + (bucket_width(i) - 1) / 2;
      return std::chrono::nanoseconds{
          static_cast<std::int64_t>(std::clamp(mid, min_ns_, max_ns_))};
    }
  }
  return max();
}

std::chrono::nanoseconds LatencyRecorder::max() const noexcept {
  return std::chrono::nanoseconds{static_cast<std::int64_t>(max_ns_)};
}

std::chrono::nanoseconds LatencyRecorder::min() const noexcept {
  return std::chrono::nanoseconds{count_ == 0 ? 0 : static_cast<std::int64_t>(min_ns_)};
}

std::chrono::nanoseconds LatencyRecorder::mean() const noexcept {
  if (count_ == 0) return std::chrono::nanoseconds{0};
  return std::chrono::nanoseconds{
      static_cast<std::int64_t>(sum_ns_ / static_cast<long double>(count_))};
}

void LatencyAggregator::add(const LatencyRecorder& recorder) {
  std::lock_guard lock(mutex_);
  total_.merge(recorder);
}

LatencyRecorder LatencyAggregator::snapshot() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace datafold::bench
