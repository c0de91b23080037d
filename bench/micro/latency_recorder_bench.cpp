// Micro benchmarks for the load harness itself: recording must stay far cheaper than the
// requests it times, or the harness becomes part of what it measures.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "load/latency_recorder.hpp"

namespace {

using datafold::bench::LatencyRecorder;

// Latency-like values: mostly tens of microseconds with a long tail.
std::vector<std::uint64_t> sample_latencies(std::size_t n) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(10.5, 0.8);
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) x = static_cast<std::uint64_t>(dist(rng));
  return v;
}

void BM_Record(benchmark::State& state) {
  const auto values = sample_latencies(4096);
  LatencyRecorder recorder;
  std::size_t i = 0;
  for (auto _ : state) {
    recorder.record_ns(values[i]);
    i = (i + 1) & (values.size() - 1);
  }
  benchmark::DoNotOptimize(recorder.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Record);

// What a load client pays per response: a clock read plus a record.
void BM_ClockAndRecord(benchmark::State& state) {
  LatencyRecorder recorder;
  auto last = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const auto now = std::chrono::steady_clock::now();
    recorder.record(now - last);
    last = now;
  }
  benchmark::DoNotOptimize(recorder.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClockAndRecord);

void BM_Percentile(benchmark::State& state) {
  LatencyRecorder recorder;
  for (auto v : sample_latencies(1 << 20)) recorder.record_ns(v);
  for (auto _ : state) {
    benchmark::DoNotOptimize(recorder.percentile(99));
  }
}
BENCHMARK(BM_Percentile);

void BM_Merge(benchmark::State& state) {
  LatencyRecorder a;
  LatencyRecorder b;
  for (auto v : sample_latencies(1 << 16)) b.record_ns(v);
  for (auto _ : state) {
    a.merge(b);
    benchmark::DoNotOptimize(a.count());
  }
}
BENCHMARK(BM_Merge);

}  // namespace

BENCHMARK_MAIN();
