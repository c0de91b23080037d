#include "dashboard_page.hpp"

#include <httplib.h>

#include "dashboard_assets.hpp"
#include "http_replies.hpp"

namespace datafold::app {

namespace {

const DashboardAsset* find_asset(std::string_view path) {
  for (const auto& asset : dashboard_assets())
    if (asset.path == path) return &asset;
  return nullptr;
}

void set_page_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                 "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("X-Content-Type-Options", "nosniff");
  // The page's own requests still carry Origin; no other site learns the API's URL.
  res.set_header("Referrer-Policy", "no-referrer");
}

}  // namespace

void install_dashboard_routes(httplib::Server& server, const std::string& token) {
  server.Get("/", [token](const httplib::Request&, httplib::Response& res) {
    const auto* page = find_asset("index.html");
    if (!page) return reply_error(res, 500, "this build has no dashboard page");
    std::string html(page->body);
    if (const auto at = html.find(kTokenPlaceholder); at != std::string::npos)
      html.replace(at, std::string_view(kTokenPlaceholder).size(), token);
    set_page_headers(res);
    // The token is this start's: a cached page would carry a stale one.
    res.set_header("Cache-Control", "no-store");
    res.set_content(html, std::string(page->content_type));
  });
  server.Get(R"(/dashboard/([A-Za-z0-9._-]+))", [](const httplib::Request& req, httplib::Response& res) {
    const auto* asset = find_asset(req.matches[1].str());
    if (!asset || asset->path == "index.html") return reply_error(res, 404, "no such dashboard file");
    set_page_headers(res);
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(asset->body), std::string(asset->content_type));
  });
}

}  // namespace datafold::app
