// make_report: what a load's report says it completed, and over how long, is what the
// measured window really held (bench/load/measured_window.hpp), whatever the times it
// was planned for.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "load/latency_recorder.hpp"
#include "load/load_report.hpp"
#include "load/measured_window.hpp"

namespace datafold::bench {
namespace {

using namespace std::chrono_literals;

WindowEdge edge(std::uint64_t answered, std::chrono::steady_clock::time_point at, double cpu, double system) {
  WindowEdge e;
  e.answered = answered;
  e.at = at;
  e.usage.cpu_seconds = cpu;
  e.usage.system_seconds = system;
  return e;
}

TEST(LoadReport, CompletedAndQpsAreWhatTheWindowHeldFromItsOpeningToItsClosing) {
  LoadSpec spec;
  spec.duration = 3000ms;  // planned; the window below was open for half a second
  LatencyRecorder latencies;
  for (int i = 0; i < 10; ++i) latencies.record(100us);  // timed over the planned window: not the count
  const auto opened_at = std::chrono::steady_clock::now();
  const auto report = make_report("node", spec, latencies, 2, edge(1'000, opened_at, 1.0, 0.25),
                                  edge(6'000, opened_at + 500ms, 1.5, 0.35));
  EXPECT_EQ(report.completed, 5'000u);
  EXPECT_DOUBLE_EQ(report.seconds, 0.5);
  EXPECT_DOUBLE_EQ(report.qps, 10'000.0);
  EXPECT_DOUBLE_EQ(report.cpu_seconds, 0.5);
  EXPECT_NEAR(report.cpu_us_per_request(), 100.0, 1e-9);
  EXPECT_NEAR(report.system_us_per_request(), 20.0, 1e-9);
  EXPECT_EQ(report.errors, 2u);
  EXPECT_NEAR(report.p50_us, 100.0, 1.0);
}

TEST(LoadReport, AWindowOpenedLateCountsOnlyWhatWasAnsweredWhileItWasOpen) {
  std::atomic<std::uint64_t> answered{0};
  const auto count = [&answered] { return answered.load(); };
  answered = 700;  // before the window: not the window's
  const auto opened = open_measured_window(count);
  answered += 40;
  const auto closed = close_measured_window(count);
  answered += 500;  // after it: not the window's either

  const auto report = make_report("node", LoadSpec{}, LatencyRecorder{}, 0, opened, closed);
  EXPECT_EQ(report.completed, 40u);
  // The window's own length, however short, not the spec's planned 3 s.
  ASSERT_LT(opened.at, closed.at);
  EXPECT_DOUBLE_EQ(report.seconds, std::chrono::duration<double>(closed.at - opened.at).count());
  EXPECT_GT(report.qps, 0.0);
  EXPECT_GE(report.cpu_seconds, 0.0);
}

}  // namespace
}  // namespace datafold::bench
