// A worker's kinds as both backends keep them in the workers.kinds column: a
// JSON array of names. One encoding, so the two backends cannot drift.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace renderq {

inline std::string KindsToJson(const std::vector<std::string>& kinds) {
  return nlohmann::json(kinds).dump();
}

inline std::vector<std::string> KindsFromJson(const std::string& text) {
  std::vector<std::string> kinds;
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) return kinds;  // a CHECK keeps it an array
  for (const nlohmann::json& kind : parsed) {
    if (kind.is_string()) kinds.push_back(kind.get<std::string>());
  }
  return kinds;
}

}  // namespace renderq
