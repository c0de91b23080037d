// The dashboard's files (its page, scripts and styles, and the graph and chart libraries
// from npm), built into the binary: dashboard/embed.mjs writes dashboard_assets.cpp at
// build time (apps/datafold/CMakeLists.txt).
#pragma once

#include <span>
#include <string_view>

namespace datafold::app {

struct DashboardAsset {
  std::string_view path;  // under /dashboard/, e.g. "graph.js"; "index.html" is served at /
  std::string_view content_type;
  std::string_view body;
};

std::span<const DashboardAsset> dashboard_assets();

}  // namespace datafold::app
