// `datafold bench` with a tiny duration: it runs, and its JSON parses; with --peer grpc
// the gRPC peer runs beside it.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "cli/cli_fixture.hpp"

namespace datafold::cli_test {
namespace {

class BenchCli : public CliTest {};

TEST_F(BenchCli, ATinyRunPrintsJson) {
  const auto result = datafold("bench", {"bench", "--duration", "0.2", "--connections", "1", "--in-flight", "2"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto report = parse_json(result.out);
  ASSERT_FALSE(report.is_discarded()) << result.out;
  ASSERT_TRUE(report.contains("runs") && report["runs"].is_array() && !report["runs"].empty()) << result.out;
  EXPECT_GT(report["runs"][0]["node"].value("completed", 0), 0) << result.out;
  EXPECT_EQ(report["runs"][0]["node"].value("errors", -1), 0) << result.out;
  const auto& node = report["runs"][0]["node"];
  ASSERT_TRUE(node["cpu_us_per_query"].is_number()) << result.out;
  // The kernel's part of that CPU: some (every query is sent and received), never more than the whole.
  ASSERT_TRUE(node["system_us_per_query"].is_number()) << result.out;
  EXPECT_GT(node["system_seconds"].get<double>(), 0.0) << result.out;
  EXPECT_LE(node["system_us_per_query"].get<double>(), node["cpu_us_per_query"].get<double>()) << result.out;
  EXPECT_FALSE(report.contains("scaling")) << "one shape has nothing to scale against: " << result.out;
}

// The gRPC peer runs in the same invocation, on the same shape and payload sizes as
// the node, and the run says how the node compares.
TEST_F(BenchCli, TheGrpcPeerRunsBesideTheNodeAndTheRatiosArePrinted) {
  if (!DATAFOLD_GRPC_PEER_BUILT) GTEST_SKIP() << "gRPC was not installed when this tree was configured";
  const auto result =
      datafold("bench", {"bench", "--duration", "0.2", "--shapes", "1x1,2x4", "--peer", "grpc"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto report = parse_json(result.out);
  ASSERT_FALSE(report.is_discarded()) << result.out;
  ASSERT_EQ(report["runs"].size(), 2u) << result.out;
  for (const auto& run : report["runs"]) {
    const auto& node = run["node"];
    const auto& grpc = run["grpc"];
    EXPECT_GT(grpc.value("completed", 0), 0) << run;
    EXPECT_EQ(grpc.value("errors", -1), 0) << run;
    EXPECT_EQ(grpc["connections"], node["connections"]) << run;
    EXPECT_EQ(grpc["in_flight"], node["in_flight"]) << run;
    EXPECT_EQ(grpc["response_bytes"], node["response_bytes"]) << run;
    EXPECT_TRUE(grpc["cpu_us_per_query"].is_number()) << run;
    EXPECT_TRUE(grpc["system_us_per_query"].is_number()) << run;
    EXPECT_EQ(run["vs_grpc"].value("floor", ""), "grpc") << run;
    EXPECT_TRUE(run["vs_grpc"]["qps_ratio"].is_number()) << run;
    EXPECT_TRUE(run["vs_grpc"]["cpu_ratio"].is_number()) << run;
  }
}

// Two shapes: the second's q/s over the first's, the node's beside the floors', each
// the ratio of the figures the runs printed.
TEST_F(BenchCli, ASecondShapesThroughputIsPrintedAgainstTheFirstsForNodeAndFloors) {
  const auto result = datafold("bench", {"bench", "--duration", "0.2", "--shapes", "2x2,4x1", "--floor"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto report = parse_json(result.out);
  ASSERT_FALSE(report.is_discarded()) << result.out;
  ASSERT_EQ(report["runs"].size(), 2u) << result.out;
  const auto& scaling = report["scaling"];
  EXPECT_EQ(scaling.value("against", ""), "2x2") << result.out;
  const auto& ratios = scaling["qps_ratios"]["4x1"];
  for (const char* key : {"node", "tcp_floor", "tls_floor"}) {
    const double first = report["runs"][0][key]["qps"].get<double>();
    const double second = report["runs"][1][key]["qps"].get<double>();
    ASSERT_TRUE(ratios.contains(key)) << result.out;
    EXPECT_DOUBLE_EQ(ratios[key].get<double>(), second / first) << key;
  }
}

// Each round is kept, and the run's figures are their medians: the node's q/s lies
// between the rounds' lowest and highest, and each round has its floor beside it.
TEST_F(BenchCli, RoundsKeepEachRunAndPrintTheirMedians) {
  const auto result = datafold("bench", {"bench", "--duration", "0.2", "--shapes", "1x2", "--floor", "--rounds", "3"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto report = parse_json(result.out);
  ASSERT_FALSE(report.is_discarded()) << result.out;
  const auto& run = report["runs"][0];
  ASSERT_EQ(run["rounds"].size(), 3u) << run;
  double lowest = 1e18;
  double highest = 0;
  for (const auto& round : run["rounds"]) {
    EXPECT_EQ(round["node"].value("errors", -1), 0) << round;
    EXPECT_GT(round["tls_floor"].value("completed", 0), 0) << round;
    EXPECT_TRUE(round["vs_tls"]["qps_ratio"].is_number()) << round;
    lowest = std::min(lowest, round["node"]["qps"].get<double>());
    highest = std::max(highest, round["node"]["qps"].get<double>());
  }
  const double median = run["node"]["qps"].get<double>();
  EXPECT_GE(median, lowest) << run;
  EXPECT_LE(median, highest) << run;
  EXPECT_TRUE(run["vs_tls"]["qps_ratio"].is_number()) << run;
  // The progress lines name each round.
  EXPECT_NE(result.err.find("round 3/3"), std::string::npos) << result.err;
}

TEST_F(BenchCli, RoundsOutOfRangeAreAUsageError) {
  for (const char* rounds : {"0", "21"}) {
    const auto result = datafold("bench", {"bench", "--duration", "0.2", "--rounds", rounds});
    EXPECT_EQ(result.exit_code, 2) << rounds;
    EXPECT_NE(result.error_line().find("--rounds"), std::string::npos) << result.err;
  }
}

// The store target answers from SQLite as `datafold node --sample` does, in the same
// run as the built-in target, and its data dir is gone when the bench ends.
TEST_F(BenchCli, TheStoreTargetRunsBesideTheBuiltInOneAndLeavesNoDataDir) {
  namespace fs = std::filesystem;
  const auto store_dirs = [] {
    std::set<std::string> found;
    for (const auto& entry : fs::directory_iterator(fs::temp_directory_path()))
      if (entry.path().filename().string().rfind("datafold-bench-store-", 0) == 0) found.insert(entry.path());
    return found;
  };
  const auto before = store_dirs();
  const auto result = datafold("bench", {"bench", "--duration", "0.2", "--shapes", "1x2", "--store"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto report = parse_json(result.out);
  ASSERT_FALSE(report.is_discarded()) << result.out;
  EXPECT_EQ(report["store_target"]["query"]["schema"], "UserProfile") << result.out;
  EXPECT_EQ(report["store_target"]["rows"], 3) << result.out;
  const auto& run = report["runs"][0];
  EXPECT_GT(run["store"].value("completed", 0), 0) << run;
  EXPECT_EQ(run["store"].value("errors", -1), 0) << run;
  EXPECT_LT(run["store"].value("response_bytes", 0), run["node"].value("response_bytes", 0))
      << "the store's replies are measured, not the built-in target's: " << run;
  EXPECT_EQ(run["store_vs_node"].value("floor", ""), "node") << run;
  EXPECT_TRUE(run["store_vs_node"]["qps_ratio"].is_number()) << run;
  EXPECT_EQ(store_dirs(), before) << "the store target's data dir is removed";
}

TEST_F(BenchCli, TheStoreTargetAndARemoteTargetExcludeEachOther) {
  const auto result = datafold("bench", {"bench", "--duration", "0.2", "--store", "--target", "127.0.0.1:9"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.error_line().find("--store"), std::string::npos) << result.err;
}

TEST_F(BenchCli, AnUnknownPeerIsAUsageError) {
  const auto result = datafold("bench", {"bench", "--duration", "0.2", "--peer", "thrift"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.error_line().find("--peer"), std::string::npos) << result.err;
}

TEST_F(BenchCli, ABadDurationIsAUsageError) {
  const auto result = datafold("bench", {"bench", "--duration", "-1"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.error_line().find("--duration"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace datafold::cli_test
