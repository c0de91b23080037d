#include "exit_code.hpp"

#include <iostream>
#include <string>

namespace datafold::app {

ExitCode exit_code_for(const net::NetworkError& error) noexcept {
  return error.kind == net::ErrorKind::Config ? ExitCode::kUsage : ExitCode::kRuntime;
}

int fail(ExitCode code, std::string_view message) {
  // One line, whatever the message holds: callers grep stderr.
  std::string line(message);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::cerr << "datafold: " << line << '\n';
  return static_cast<int>(code);
}

int fail(std::string_view context, const net::NetworkError& error) {
  std::string message(context);
  message += ": ";
  message += error.message;
  return fail(exit_code_for(error), message);
}

}  // namespace datafold::app
