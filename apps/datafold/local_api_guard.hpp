// Which requests the local HTTP API answers at all, and which writes it carries out: the
// defence against other web pages (docs/SECURITY.md, "The local HTTP API and browsers").
//   - Host must name this API: an IP literal or "localhost", with the API's port when it
//     gives one (a browser always does, for any port but 80). A page
//     reaching the API through DNS rebinding sends its own name (Host: evil.example:PORT)
//     and gets nothing, reads included. An IP literal cannot be rebound.
//   - Origin, when present, must be this API's own (http://<Host>), and a browser's
//     Sec-Fetch-Site, when present, must say the request came from this API's own page or
//     from the user (same-origin, none). A foreign page's fetches, form posts and even
//     <img>/<script> loads carry one or the other in current browsers.
//   - A write (any method but GET, HEAD) that comes from a browser (it carries Origin,
//     Sec-Fetch-Site or Referer) must carry the token the dashboard page was served with,
//     compared in constant time. Programs (the CLI, fold_db clients, curl) send none of
//     these headers and need no token: they could read the node's data dir anyway, and
//     fold_db's clients must work unchanged (DESIGN.md section 12).
// Pure: no sockets, so every case is a unit test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace datafold::app {

// The header that carries the dashboard's token on writes.
inline constexpr const char* kDashboardTokenHeader = "X-DataFold-Token";

// The parts of a request the guard reads; nullopt for an absent header.
struct LocalApiRequest {
  std::string_view method;
  std::optional<std::string_view> host;
  std::optional<std::string_view> origin;
  std::optional<std::string_view> sec_fetch_site;
  std::optional<std::string_view> referer;
  std::optional<std::string_view> token;
};

enum class LocalApiVerdict {
  Allow,
  ForeignHost,     // Host missing, a name other than localhost, or another port given
  ForeignOrigin,   // Origin present and not this API's
  CrossSiteFetch,  // Sec-Fetch-Site says another site or origin sent it
  MissingToken,    // a browser's write without the token
  WrongToken,      // a browser's write with a token that is not this start's
};

// Why the request was refused, for the 403 body; empty for Allow.
std::string_view to_string(LocalApiVerdict verdict) noexcept;

// Whether `host` (a Host header's value) names the API listening on `port`.
bool is_own_host(std::string_view host, std::uint16_t port);

LocalApiVerdict check_local_api_request(const LocalApiRequest& request, std::uint16_t port,
                                        std::string_view token);

// A fresh token for this start: 32 random bytes as 64 hex digits (OpenSSL's CSPRNG).
// Throws std::runtime_error if the CSPRNG fails, which leaves the node nothing safe to serve.
std::string make_dashboard_token();

}  // namespace datafold::app
