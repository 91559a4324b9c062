#include "core/model/kind_input.h"

#include <algorithm>
#include <string>

#include "core/model/scene_json.h"

namespace renderq {
namespace {

using Json = nlohmann::json;

std::string PrintableAscii(std::string_view s, std::size_t max_bytes) {
  std::string out;
  for (char c : s.substr(0, std::min(s.size(), max_bytes))) {
    out += (c >= 0x20 && c < 0x7F) ? c : '?';
  }
  if (s.size() > max_bytes) out += "...";
  return out;
}

// Builds the value as nlohmann's own DOM parser does, iteratively, and also
// notes what nlohmann would let pass: repeated keys, excessive depth.
class Builder final : public nlohmann::json_sax<Json> {
 public:
  explicit Builder(std::string_view body) : body_(body) {}

  bool null() override { return Value(Json(nullptr)); }
  bool boolean(bool v) override { return Value(Json(v)); }
  bool number_integer(number_integer_t v) override { return Value(Json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Value(Json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return Value(Json(v)); }
  bool string(string_t& v) override { return Value(Json(std::move(v))); }
  bool binary(binary_t&) override { return Value(Json(nullptr)); }  // not in JSON text

  bool start_object(std::size_t) override { return Open(Json::object()); }
  bool start_array(std::size_t) override { return Open(Json::array()); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }

  bool key(string_t& k) override {
    Frame& frame = stack_.back();
    if (frame.node->contains(k)) {
      findings_.push_back({PointerTo(k), "duplicate key"});
    }
    frame.key = std::move(k);
    return findings_.size() < kMaxKindInputFindings;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    if (ex.id == 406) {  // a number too large for a double
      findings_.push_back({PointerTo(NextToken()), "number out of range"});
      return false;
    }
    malformed_ = Malformed(position, ex.what());
    return false;
  }

  KindInputParse Result() {
    if (malformed_) return *malformed_;
    if (!findings_.empty()) return findings_;
    return std::move(root_);
  }

 private:
  struct Frame {
    Json* node;
    std::string token;  // this container's token in its parent
    std::string key;    // objects: the key of the value being read
  };

  // The token of the value about to be read in the current container.
  std::string NextToken() const {
    if (stack_.empty()) return {};
    const Frame& frame = stack_.back();
    return frame.node->is_array() ? std::to_string(frame.node->size()) : frame.key;
  }

  std::string PointerTo(const std::string& token) const {
    std::string pointer;
    for (std::size_t i = 1; i < stack_.size(); ++i) pointer += "/" + EscapeJsonPointerToken(stack_[i].token);
    if (!stack_.empty()) pointer += "/" + EscapeJsonPointerToken(token);
    return pointer;
  }

  Json* Put(Json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Frame& frame = stack_.back();
    if (frame.node->is_array()) {
      frame.node->push_back(std::move(value));
      return &frame.node->back();
    }
    Json& slot = (*frame.node)[frame.key];
    if (slot.is_null()) slot = std::move(value);  // a repeated key keeps its first value
    return &slot;
  }

  bool Value(Json value) {
    Put(std::move(value));
    return true;
  }

  bool Open(Json container) {
    std::string token = NextToken();
    if (stack_.size() >= static_cast<std::size_t>(kMaxKindInputDepth)) {
      findings_.push_back({PointerTo(token),
                           "nested deeper than " + std::to_string(kMaxKindInputDepth) + " levels"});
      return false;
    }
    Json* node = Put(std::move(container));
    stack_.push_back({node, std::move(token), {}});
    return true;
  }

  bool Close() {
    stack_.pop_back();
    return true;
  }

  MalformedInput Malformed(std::size_t position, std::string_view what) const {
    const std::size_t offset = std::min(position > 0 ? position - 1 : 0, body_.size());
    const std::string_view before = body_.substr(0, offset);
    const std::size_t last_newline = before.rfind('\n');
    MalformedInput m;
    m.line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    m.column = 1 + static_cast<int>(
                       last_newline == std::string_view::npos ? offset : offset - last_newline - 1);
    std::string_view reason = what;
    if (auto col = reason.find("column "); col != std::string_view::npos) {
      if (auto colon = reason.find(": ", col); colon != std::string_view::npos) {
        reason = reason.substr(colon + 2);
      }
    } else if (auto bracket = reason.find("] "); bracket != std::string_view::npos) {
      reason = reason.substr(bracket + 2);
    }
    m.message = "malformed JSON at line " + std::to_string(m.line) + ", column " +
                std::to_string(m.column) + ": " + PrintableAscii(reason, 200);
    return m;
  }

  std::string_view body_;
  Json root_;
  std::vector<Frame> stack_;
  std::vector<InputFinding> findings_;
  std::optional<MalformedInput> malformed_;
};

}  // namespace

KindInputParse ParseKindInput(std::string_view body) {
  Builder builder(body);
  try {
    Json::sax_parse(body.begin(), body.end(), &builder);
  } catch (const std::exception& e) {  // nlohmann reports through parse_error; a bug otherwise
    return MalformedInput{std::string("malformed JSON: ") + PrintableAscii(e.what(), 200), 1, 1};
  }
  return builder.Result();
}

}  // namespace renderq
