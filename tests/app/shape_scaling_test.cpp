// shape_scaling: how `datafold bench --shapes A,B,...` says each later shape's q/s
// compares with the first's, for the node and for what was measured beside it.
#include <gtest/gtest.h>

#include "load/shape_scaling.hpp"

namespace datafold::bench {
namespace {

using Json = nlohmann::ordered_json;

Json run(const char* shape, double node_qps, double tls_qps) {
  return Json{
      {"shape", shape},
      {"node", {{"name", "node"}, {"qps", node_qps}}},
      {"tls_floor", {{"name", "tls_floor"}, {"qps", tls_qps}}},
      {"vs_tls", {{"subject", "node"}, {"qps_ratio", node_qps / tls_qps}}},
  };
}

TEST(ShapeScaling, EachLaterShapesQpsIsOverTheFirstShapesForEveryStackMeasured) {
  const auto scaling = shape_scaling(Json::array({run("16x16", 400, 800), run("100x4", 200, 200), run("1x1", 40, 100)}));
  EXPECT_EQ(scaling["against"], "16x16");
  const auto& ratios = scaling["qps_ratios"];
  EXPECT_DOUBLE_EQ(ratios["100x4"]["node"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(ratios["100x4"]["tls_floor"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(ratios["1x1"]["node"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(ratios["1x1"]["tls_floor"].get<double>(), 0.125);
  // A comparison has no q/s of its own: it is not scaled.
  EXPECT_FALSE(ratios["100x4"].contains("vs_tls"));
  EXPECT_FALSE(ratios.contains("16x16"));
}

TEST(ShapeScaling, OneShapeHasNothingToCompareWith) {
  EXPECT_TRUE(shape_scaling(Json::array({run("16x16", 400, 800)})).is_null());
  EXPECT_TRUE(shape_scaling(Json::array()).is_null());
}

TEST(ShapeScaling, AStackMissingFromEitherShapeOrWithNothingDoneFirstIsLeftOut) {
  auto first = run("16x16", 400, 0);  // the floor failed: a ratio against 0 means nothing
  auto later = run("100x4", 200, 100);
  later["store"] = {{"qps", 50.0}};  // measured in the later shape only
  const auto ratios = shape_scaling(Json::array({first, later}))["qps_ratios"]["100x4"];
  EXPECT_DOUBLE_EQ(ratios["node"].get<double>(), 0.5);
  EXPECT_FALSE(ratios.contains("tls_floor"));
  EXPECT_FALSE(ratios.contains("store"));
}

}  // namespace
}  // namespace datafold::bench
