#include "ctl/duration.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

namespace renderq {
namespace {

struct Unit {
  std::string_view suffix;
  TimeMs ms;
};

// Longest suffix first, so "ms" is not read as "m" followed by junk.
constexpr std::array<Unit, 6> kUnits = {{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
    {"w", 7 * 24 * 60 * 60 * 1000},
}};

Status Invalid(std::string_view text) {
  return Status::InvalidArgument("bad duration '" + std::string(text) +
                                 "' (expected e.g. 7d, 12h, 30m, 45s, 500ms)");
}

}  // namespace

Result<TimeMs> ParseDuration(std::string_view text) {
  for (const Unit& unit : kUnits) {
    if (text.size() <= unit.suffix.size() || !text.ends_with(unit.suffix)) continue;
    const std::string_view digits = text.substr(0, text.size() - unit.suffix.size());
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size()) continue;
    if (n <= 0 || n > std::numeric_limits<TimeMs>::max() / unit.ms) return Invalid(text);
    return n * unit.ms;
  }
  return Invalid(text);
}

}  // namespace renderq
