#include "local_api_guard.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace datafold::app {

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_ipv4_literal(std::string_view text) {
  int parts = 0;
  while (true) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const auto digits = static_cast<std::size_t>(end - text.data());
    if (ec != std::errc{} || digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    text.remove_prefix(digits);
    if (text.empty()) return parts == 4;
    if (text.front() != '.' || parts == 4) return false;
    text.remove_prefix(1);
  }
}

// Bracketed, as in a Host header: "[::1]". Hex digits, colons and dots (an embedded
// IPv4) only, so no name can pass for one; a zone ("%eth0") is not sent in Host.
bool is_bracketed_ipv6_literal(std::string_view text) {
  if (text.size() < 4 || text.front() != '[' || text.back() != ']') return false;
  text = text.substr(1, text.size() - 2);
  return text.find(':') != std::string_view::npos &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; });
}

}  // namespace

std::string_view to_string(LocalApiVerdict verdict) noexcept {
  switch (verdict) {
    case LocalApiVerdict::Allow: return "";
    case LocalApiVerdict::ForeignHost: return "the Host header does not name this API (127.0.0.1, localhost or [::1] with its port)";
    case LocalApiVerdict::ForeignOrigin: return "requests from another web page's origin are refused";
    case LocalApiVerdict::CrossSiteFetch: return "requests another site's page makes are refused";
    case LocalApiVerdict::MissingToken: return "a write from a browser needs the dashboard's token";
    case LocalApiVerdict::WrongToken: return "the dashboard token is not this node's (reload the page)";
  }
  return "refused";
}

bool is_own_host(std::string_view host, std::uint16_t port) {
  // The port: after the last ':' outside brackets. A browser always sends it for a port
  // other than 80, so one that is given must be the API's; some programs leave it out
  // (fold_db's tests' raw requests do), which is no risk: what DNS rebinding needs is a
  // name, and the name is checked below.
  std::string_view name = host;
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
    name = host.substr(0, colon);
    const auto digits = host.substr(colon + 1);
    std::uint16_t given = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), given);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || given != port) return false;
  }
  return equals_ignoring_case(name, "localhost") || is_ipv4_literal(name) || is_bracketed_ipv6_literal(name);
}

LocalApiVerdict check_local_api_request(const LocalApiRequest& request, std::uint16_t port, std::string_view token) {
  if (!request.host || !is_own_host(*request.host, port)) return LocalApiVerdict::ForeignHost;
  // Same origin: the scheme is http and the origin's host:port is the one this request
  // was sent to. "null" (a sandboxed frame, a file: page) is nobody's own.
  if (request.origin) {
    const std::string own = "http://" + std::string(*request.host);
    if (!equals_ignoring_case(*request.origin, own)) return LocalApiVerdict::ForeignOrigin;
  }
  // "same-site" too is refused: another port on 127.0.0.1 is the same site.
  if (request.sec_fetch_site && *request.sec_fetch_site != "same-origin" && *request.sec_fetch_site != "none")
    return LocalApiVerdict::CrossSiteFetch;
  const bool write = request.method != "GET" && request.method != "HEAD";
  const bool from_browser = request.origin || request.sec_fetch_site || request.referer;
  if (write && from_browser) {
    if (!request.token || request.token->empty()) return LocalApiVerdict::MissingToken;
    // The length is no secret (always 64); the bytes are compared in constant time.
    if (request.token->size() != token.size() || token.empty() ||
        CRYPTO_memcmp(request.token->data(), token.data(), token.size()) != 0)
      return LocalApiVerdict::WrongToken;
  }
  return LocalApiVerdict::Allow;
}

std::string make_dashboard_token() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("the CSPRNG failed to make the dashboard token");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

}  // namespace datafold::app
