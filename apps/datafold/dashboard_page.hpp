// The dashboard's routes: GET / (the page, with this start's write token in it) and
// GET /dashboard/<file> (its scripts, styles and libraries, all built into the binary).
// Every answer forbids framing and loading anything from elsewhere (Content-Security-Policy),
// so the page works with no internet and no other page can wrap it.
#pragma once

#include <string>

namespace httplib {
class Server;
}

namespace datafold::app {

// Where the page's HTML carries the token; replaced when it is served.
inline constexpr const char* kTokenPlaceholder = "{{DATAFOLD_TOKEN}}";

void install_dashboard_routes(httplib::Server& server, const std::string& token);

}  // namespace datafold::app
