#include "reputation_commands.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>

#include "exit_code.hpp"

namespace datafold::app {

namespace {

using net::Json;

std::string score_text(const Json& score) {
  if (!score.is_number()) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", score.get<double>());
  return text;
}

std::string until_text(const Json& until_ms) {
  if (!until_ms.is_number()) return "-";
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  const auto left = std::max<std::int64_t>(0, (until_ms.get<std::int64_t>() - now) / 1000);
  return "for " + std::to_string(left) + " s more";
}

}  // namespace

ReputationCommand::ReputationCommand(CLI::App& app, const GlobalOptions& global)
    : global_(global),
      command_(app.add_subcommand("reputation", "Show or change what the local running node thinks of its peers")) {
  command_->require_subcommand(1);
  http_.add_to(*command_, "The local node's HTTP API");
  show_ = command_->add_subcommand("show", "Every scored node id and IP, worst first, with events counted");
  ban_ = command_->add_subcommand("ban", "Refuse a node id or an IP for a while (closes its connections)");
  unban_ = command_->add_subcommand("unban", "Lift a ban; the subject starts again from neutral");
  reset_ = command_->add_subcommand("reset", "Forget everything about a node id or an IP");
  for (auto* sub : {ban_, unban_, reset_})
    sub->add_option("subject", subject_, "A whole node id (52 characters) or an IP address")->required();
  ban_->add_option("--seconds", seconds_, "How long the ban lasts")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{365LL * 24 * 3600}))
      ->capture_default_str();
}

int ReputationCommand::run() const {
  if (show_->parsed()) return run_show();
  if (ban_->parsed()) return run_ban();
  if (unban_->parsed()) return run_lift(false);
  return run_lift(true);
}

int ReputationCommand::run_show() const {
  auto data = local_api_get(http_.address(global_.data_dir), "/api/v1/reputation");
  if (!data) return fail("reputation show", data.error());
  if (global_.json) {
    std::cout << json_text(*data) << '\n';
    return static_cast<int>(ExitCode::kOk);
  }
  const auto entries = data->value("entries", Json::array());
  if (!entries.is_array() || entries.empty()) {
    std::cout << "no peer has a score yet\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& entry : entries)
      rows.push_back({entry.value("subject", ""), entry.value("kind", ""), score_text(entry.value("score", Json())),
                      entry.value("state", ""), until_text(entry.value("banned_until_ms", Json()))});
    print_table(std::cout, {"SUBJECT", "KIND", "SCORE", "STATE", "BANNED"}, rows);
  }
  const auto stats = data->value("stats", Json::object());
  std::string events;
  const auto counts = stats.value("events", Json::object());  // items() must not outlive it
  for (const auto& [kind, count] : counts.items())
    if (count.is_number() && count.get<std::uint64_t>() > 0)
      events += (events.empty() ? "" : ", ") + kind + " " + std::to_string(count.get<std::uint64_t>());
  std::cout << "events: " << (events.empty() ? "none" : events) << '\n'
            << "refused for a ban: " << stats.value("refused_banned", 0) << '\n';
  return static_cast<int>(ExitCode::kOk);
}

int ReputationCommand::run_ban() const {
  auto data = local_api_post(http_.address(global_.data_dir), "/api/v1/reputation/ban",
                             Json{{"subject", subject_}, {"seconds", seconds_}});
  if (!data) return fail("reputation ban", data.error());
  if (global_.json) std::cout << json_text(*data) << '\n';
  else std::cout << "banned " << subject_ << " for " << seconds_ << " s\n";
  return static_cast<int>(ExitCode::kOk);
}

int ReputationCommand::run_lift(bool reset) const {
  const char* what = reset ? "reset" : "unban";
  auto data = local_api_post(http_.address(global_.data_dir), std::string("/api/v1/reputation/") + what,
                             Json{{"subject", subject_}});
  if (!data) return fail(std::string("reputation ") + what, data.error());
  if (global_.json) {
    std::cout << json_text(*data) << '\n';
  } else if (data->value("found", false)) {
    std::cout << (reset ? "forgot " : "unbanned ") << subject_ << '\n';
  } else {
    std::cout << "nothing was known of " << subject_ << '\n';
  }
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace datafold::app
