// `datafold bench` with a tiny duration: it runs, and its JSON parses.
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
}

TEST_F(BenchCli, ABadDurationIsAUsageError) {
  const auto result = datafold("bench", {"bench", "--duration", "-1"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.error_line().find("--duration"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace datafold::cli_test
