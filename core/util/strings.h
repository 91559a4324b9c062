// Small string helpers for protocol text (HTTP header values, tokens).
// ASCII only: header syntax is ASCII, and nothing here is locale-dependent.
#pragma once

#include <strings.h>

#include <string_view>

namespace renderq {

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Without leading and trailing spaces and tabs (HTTP's optional white space).
inline std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace renderq
