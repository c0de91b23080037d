// median_of_rounds: what `datafold bench --rounds` prints for each shape.
#include <gtest/gtest.h>

#include "load/round_medians.hpp"

namespace datafold::bench {
namespace {

using Json = nlohmann::ordered_json;

Json round(double node_qps, double tls_qps, std::uint64_t errors) {
  return Json{
      {"node", {{"name", "node"}, {"connections", 16}, {"qps", node_qps}, {"errors", errors}}},
      {"tls_floor", {{"name", "tls"}, {"connections", 16}, {"qps", tls_qps}, {"errors", 0}}},
      {"vs_tls", {{"subject", "node"}, {"floor", "tls"}, {"qps_ratio", node_qps / tls_qps}}},
  };
}

TEST(RoundMedians, EachFigureIsItsMedianAndEachRatioTheMedianOfTheRoundsRatios) {
  const auto median = median_of_rounds({round(100, 400, 0), round(300, 600, 0), round(200, 1000, 0)});
  EXPECT_EQ(median["node"]["qps"], 200.0);
  EXPECT_EQ(median["tls_floor"]["qps"], 600.0);
  // The rounds' ratios are 0.25, 0.5 and 0.2: their median, not 200 / 600.
  EXPECT_DOUBLE_EQ(median["vs_tls"]["qps_ratio"].get<double>(), 0.25);
  EXPECT_EQ(median["node"]["name"], "node");
  EXPECT_EQ(median["vs_tls"]["floor"], "tls");
  EXPECT_EQ(median["node"]["connections"], 16);
  EXPECT_TRUE(median["node"]["connections"].is_number_integer());
}

TEST(RoundMedians, AnEvenCountTakesTheMeanOfTheMiddleTwo) {
  const auto median = median_of_rounds({round(100, 400, 0), round(400, 400, 0), round(200, 400, 0), round(900, 400, 0)});
  EXPECT_EQ(median["node"]["qps"], 300.0);
}

TEST(RoundMedians, ACountStaysAnInteger) {
  auto a = round(100, 400, 0);
  auto b = round(100, 400, 0);
  a["node"]["completed"] = 7;
  b["node"]["completed"] = 8;
  const auto median = median_of_rounds({a, b});
  EXPECT_TRUE(median["node"]["completed"].is_number_integer());
  EXPECT_EQ(median["node"]["completed"], 8);  // 7.5, rounded
}

TEST(RoundMedians, ErrorsAreSummedSoNoFailedRoundIsHidden) {
  const auto median = median_of_rounds({round(100, 400, 0), round(100, 400, 3), round(100, 400, 0)});
  EXPECT_EQ(median["node"]["errors"], 3u);
  EXPECT_EQ(median["tls_floor"]["errors"], 0u);
}

TEST(RoundMedians, ANullRatioInSomeRoundsIsLeftOutAndInAllStaysNull) {
  auto first = round(100, 400, 0);
  auto second = round(300, 400, 0);
  first["vs_tls"]["qps_ratio"] = nullptr;
  first["vs_tls"]["p50_ratio"] = nullptr;
  second["vs_tls"]["p50_ratio"] = nullptr;
  const auto median = median_of_rounds({first, second});
  EXPECT_DOUBLE_EQ(median["vs_tls"]["qps_ratio"].get<double>(), 0.75);
  EXPECT_TRUE(median["vs_tls"]["p50_ratio"].is_null());
}

TEST(RoundMedians, KeysKeepTheFirstRoundsOrderAndNonObjectsAreLeftOut) {
  auto only = round(100, 400, 0);
  only["shape"] = "16x16";
  const auto median = median_of_rounds({only});
  std::vector<std::string> keys;
  for (const auto& [key, value] : median.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"node", "tls_floor", "vs_tls"}));
}

TEST(RoundMedians, NoRoundsGiveAnEmptyObject) { EXPECT_EQ(median_of_rounds({}), Json::object()); }

}  // namespace
}  // namespace datafold::bench
