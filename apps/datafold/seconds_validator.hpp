// A CLI11 check for durations given in seconds, with a message a person can read
// (CLI::PositiveNumber's names the whole range of double).
#pragma once

#include <exception>
#include <string>

#include <CLI/CLI.hpp>

namespace datafold::app {

// Accepts a number of seconds in (0, max_seconds], fractions allowed ("0.5").
inline CLI::Validator seconds_validator(double max_seconds) {
  return CLI::Validator(
      [max_seconds](std::string& text) -> std::string {
        double value = 0;
        std::size_t used = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        // !(a <= b) also rejects NaN.
        if (used == 0 || used != text.size() || !(value > 0) || !(value <= max_seconds))
          return "'" + text + "' is not a number of seconds in (0, " +
                 std::to_string(static_cast<long long>(max_seconds)) + "]";
        return {};
      },
      "SECONDS");
}

}  // namespace datafold::app
