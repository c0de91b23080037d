#include "http_reputation.hpp"

#include <httplib.h>

#include <sstream>

#include "http_replies.hpp"
#include "json_views.hpp"

namespace datafold::app {

namespace {

// The longest ban the API accepts: a year.
constexpr std::int64_t kMaxBanSeconds = 365LL * 24 * 3600;

// {"subject": "…"} from the body; answers 400 and returns nullopt without one.
std::optional<std::string> subject_of(const httplib::Request& req, httplib::Response& res) {
  auto body = json_body(req, res, false);
  if (!body) return std::nullopt;
  if (!body->contains("subject") || !(*body)["subject"].is_string() || (*body)["subject"].get<std::string>().empty()) {
    reply_error(res, 400, "\"subject\" (a node id or an IP address) is required");
    return std::nullopt;
  }
  return (*body)["subject"].get<std::string>();
}

}  // namespace

void install_reputation_routes(httplib::Server& server, net::NetworkCore& core) {
  server.Get("/api/v1/reputation", [&core](const httplib::Request&, httplib::Response& res) {
    net::Json entries = net::Json::array();
    for (const auto& entry : core.reputation()) entries.push_back(to_json(entry));
    reply_data(res, {{"entries", std::move(entries)}, {"stats", to_json(core.reputation_stats())}});
  });

  server.Post("/api/v1/reputation/ban", [&core](const httplib::Request& req, httplib::Response& res) {
    auto subject = subject_of(req, res);
    if (!subject) return;
    const auto body = parse_request_json(req.body);
    std::int64_t seconds = 3600;
    if (body.contains("seconds")) {
      if (!body["seconds"].is_number_integer() || body["seconds"].get<std::int64_t>() < 1 ||
          body["seconds"].get<std::int64_t>() > kMaxBanSeconds)
        return reply_error(res, 400, "\"seconds\" must be an integer in 1.." + std::to_string(kMaxBanSeconds));
      seconds = body["seconds"].get<std::int64_t>();
    }
    if (auto banned = core.ban(*subject, std::chrono::seconds(seconds)); !banned)
      return reply_network_error(res, banned.error());
    reply_data(res, {{"subject", *subject}, {"banned_for_seconds", seconds}});
  });

  auto lift = [&core](bool reset) {
    return [&core, reset](const httplib::Request& req, httplib::Response& res) {
      auto subject = subject_of(req, res);
      if (!subject) return;
      auto found = reset ? core.reset_reputation(*subject) : core.unban(*subject);
      if (!found) return reply_network_error(res, found.error());
      reply_data(res, {{"subject", *subject}, {"found", *found}});
    };
  };
  server.Post("/api/v1/reputation/unban", lift(false));
  server.Post("/api/v1/reputation/reset", lift(true));
}

std::string reputation_metrics(const net::NetworkCore& core) {
  const auto stats = core.reputation_stats();
  std::ostringstream out;
  out << "# HELP datafold_reputation_subjects Node ids and IP blocks this node scores, by state.\n"
      << "# TYPE datafold_reputation_subjects gauge\n";
  for (const auto& [state, count] : stats.subjects_by_state)
    out << "datafold_reputation_subjects{state=\"" << state << "\"} " << count << '\n';
  out << "# HELP datafold_reputation_events_total What peers were seen to do, by kind.\n"
      << "# TYPE datafold_reputation_events_total counter\n";
  for (const auto& [kind, count] : stats.events)
    out << "datafold_reputation_events_total{kind=\"" << kind << "\"} " << count << '\n';
  metric(out, "datafold_reputation_refused_total", "counter",
         "Connections, datagrams and DHT values refused because their sender is banned.", stats.refused_banned);
  return out.str();
}

}  // namespace datafold::app
