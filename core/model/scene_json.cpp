#include "core/model/scene_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <span>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace renderq {
namespace {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------
// Strings that end up in responses.

// Keeps at most `max_bytes` of `s` without cutting a UTF-8 sequence in two.
std::string Truncated(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "...";
}

// A user-supplied name inside a detail: quoted and bounded.
std::string Quoted(std::string_view name) { return "\"" + Truncated(name, 64) + "\""; }

// Parser messages may quote raw bytes of a malformed body: keep printable ASCII.
std::string PrintableAscii(std::string_view s, std::size_t max_bytes) {
  std::string out;
  for (char c : s.substr(0, std::min(s.size(), max_bytes))) {
    out += (c >= 0x20 && c < 0x7F) ? c : '?';
  }
  if (s.size() > max_bytes) out += "...";
  return out;
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// ---------------------------------------------------------------------------
// Where a finding is: a stack of reference tokens, turned into an RFC 6901
// pointer only when a finding is recorded (a mesh has millions of elements).

class Path {
 public:
  struct Token {
    std::string_view key;  // used when is_index is false
    std::size_t index = 0;
    bool is_index = false;
  };

  void Push(std::string_view key) { tokens_.push_back({key, 0, false}); }
  void Push(std::size_t index) { tokens_.push_back({{}, index, true}); }
  void Pop() { tokens_.pop_back(); }

  std::string ToPointer() const {
    std::string out;
    for (const Token& t : tokens_) {
      out += '/';
      out += t.is_index ? std::to_string(t.index) : EscapeJsonPointerToken(t.key);
    }
    return out;
  }

 private:
  std::vector<Token> tokens_;
};

// Pushes one token for the lifetime of the scope.
class Scope {
 public:
  template <typename T>
  Scope(Path& path, T token) : path_(path) {
    path_.Push(token);
  }
  ~Scope() { path_.Pop(); }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Path& path_;
};

// Findings, capped at kMaxSceneFindings but all counted.
class Findings {
 public:
  void Add(std::string pointer, std::string detail) {
    ++total_;
    if (list_.size() >= kMaxSceneFindings) return;
    if (pointer.size() > kMaxSceneFindingPointerBytes) {
      // Keys come from the body (up to its 4 MiB): a pointer through a huge
      // one would make the 422 as large as the request. Keep the whole tokens
      // that fit, so the pointer still names a real place, and say so.
      pointer.resize(pointer.rfind('/', kMaxSceneFindingPointerBytes));
      detail += " (under a key too long to quote)";
    }
    list_.push_back({std::move(pointer), std::move(detail)});
  }
  bool empty() const { return total_ == 0; }

  SceneError ToError() && {
    SceneError error;
    error.kind = SceneError::Kind::kInvalidScene;
    const SceneFinding& first = list_.front();
    const std::string where = first.pointer.empty() ? "scene" : first.pointer;
    error.message = total_ == 1
                        ? where + ": " + first.detail
                        : std::to_string(total_) + " problems in the scene; first: " + where +
                              ": " + first.detail;
    if (total_ > list_.size()) {
      list_.push_back({"", "... and " + std::to_string(total_ - list_.size()) + " more findings"});
    }
    error.findings = std::move(list_);
    return error;
  }

 private:
  std::vector<SceneFinding> list_;
  std::size_t total_ = 0;
};

// ---------------------------------------------------------------------------
// Parsing: nlohmann's SAX interface building the DOM, so that nesting depth and
// repeated keys (which json::parse would keep silently, last one wins) are seen.
// nlohmann's SAX parser itself is iterative; the depth bound protects the
// recursive code that walks the tree afterwards.

class DomBuilder {
 public:
  DomBuilder(std::string_view body, Findings& findings) : body_(body), findings_(findings) {}

  Json& root() { return root_; }
  const std::optional<SceneError>& malformed() const { return malformed_; }

  bool null() { return Put(Json(nullptr)); }
  bool boolean(bool v) { return Put(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return Put(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(Json(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t& /*text*/) { return Put(Json(v)); }
  bool string(Json::string_t& v) { return Put(Json(std::move(v))); }
  bool binary(Json::binary_t& /*v*/) { return false; }  // not produced by JSON text
  bool start_object(std::size_t /*size*/) { return Open(Json::object()); }
  bool start_array(std::size_t /*size*/) {
    // Most arrays in a scene are 3-vectors and index triples: one allocation
    // each instead of three as the vector grows (a 4 MiB mesh has ~200,000).
    Json array = Json::array();
    array.get_ptr<Json::array_t*>()->reserve(3);
    return Open(std::move(array));
  }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(Json::string_t& k) {
    if (stack_.back().node->contains(k)) findings_.Add(PointerTo(k), "duplicate key");
    pending_key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    constexpr int kNumberOverflow = 406;
    if (ex.id == kNumberOverflow) {
      findings_.Add(PointerTo(NextToken()), "number out of range");
    } else {
      malformed_ = Malformed(position, ex.what());
    }
    return false;
  }

 private:
  struct Frame {
    Json* node;
    std::string token;  // this container's reference token in its parent
  };

  // The reference token the next value will get in the innermost container.
  std::string NextToken() const {
    if (stack_.empty()) return {};
    const Json& top = *stack_.back().node;
    return top.is_array() ? std::to_string(top.size()) : pending_key_;
  }

  std::string PointerTo(const std::string& token) const {
    std::string out;
    for (std::size_t i = 1; i < stack_.size(); ++i)
      out += "/" + EscapeJsonPointerToken(stack_[i].token);
    if (!stack_.empty()) out += "/" + EscapeJsonPointerToken(token);
    return out;
  }

  Json* Put(Json&& value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json& top = *stack_.back().node;
    if (top.is_array()) {
      top.push_back(std::move(value));
      return &top.back();
    }
    Json& slot = top[pending_key_];
    slot = std::move(value);
    return &slot;
  }

  bool Open(Json&& container) {
    std::string token = NextToken();
    if (stack_.size() >= kMaxSceneJsonDepth) {
      findings_.Add(PointerTo(token),
                    "nested deeper than " + std::to_string(kMaxSceneJsonDepth) + " levels");
      return false;
    }
    Json* node = Put(std::move(container));
    stack_.push_back({node, std::move(token)});
    return true;
  }

  bool Close() {
    stack_.pop_back();
    return true;
  }

  // `position` counts bytes read, the offending one included (1-based).
  SceneError Malformed(std::size_t position, std::string_view what) const {
    const std::size_t offset = std::min(position > 0 ? position - 1 : 0, body_.size());
    const std::string_view before = body_.substr(0, offset);
    const std::size_t last_newline = before.rfind('\n');
    SceneError e;
    e.kind = SceneError::Kind::kMalformedJson;
    e.line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    e.column = 1 + static_cast<int>(
                       last_newline == std::string_view::npos ? offset : offset - last_newline - 1);
    // nlohmann's text: "[json.exception.parse_error.101] parse error at line 1,
    // column 2: syntax error ..."; keep what follows the position.
    std::string_view reason = what;
    if (auto col = reason.find("column "); col != std::string_view::npos) {
      if (auto colon = reason.find(": ", col); colon != std::string_view::npos) {
        reason = reason.substr(colon + 2);
      }
    } else if (auto bracket = reason.find("] "); bracket != std::string_view::npos) {
      reason = reason.substr(bracket + 2);
    }
    e.message = "malformed JSON at line " + std::to_string(e.line) + ", column " +
                std::to_string(e.column) + ": " + PrintableAscii(reason, 200);
    return e;
  }

  std::string_view body_;
  Findings& findings_;
  Json root_;
  std::vector<Frame> stack_;
  std::string pending_key_;
  std::optional<SceneError> malformed_;
};

// ---------------------------------------------------------------------------
// Validation: walks the DOM, records every broken rule, fills a SceneDescription.

struct Range {
  double lo;
  double hi;
  bool lo_open = false;  // (lo, hi] instead of [lo, hi]

  bool Contains(double v) const { return (lo_open ? v > lo : v >= lo) && v <= hi; }
  std::string Describe(double v) const {
    if (lo_open) {
      return v <= lo ? "must be > " + FormatNumber(lo) : "must be <= " + FormatNumber(hi);
    }
    return "must be in [" + FormatNumber(lo) + ", " + FormatNumber(hi) + "]";
  }
};

constexpr Range kCoordinate{-kMaxCoordinate, kMaxCoordinate};
constexpr Range kLength{0.0, kMaxCoordinate, /*lo_open=*/true};
constexpr Range kNonNegative{0.0, kMaxCoordinate};
constexpr Range kUnit{0.0, 1.0};
constexpr Range kRadiance{0.0, 1e4};
constexpr Range kVfov{1.0, 179.0};
constexpr Range kIor{1.0, 3.0};

// Below this a vector counts as zero (float coordinates are within 1e6, so a
// shorter difference is rounding, and normalizing it would blow up).
constexpr double kTinyLength = 1e-6;
// |sin| of the angle under which two directions count as parallel.
constexpr double kParallelSine = 1e-6;

using Keys = std::span<const std::string_view>;

constexpr std::string_view kSceneKeys[] = {"width",  "height", "samples",   "max_depth", "seed",
                                           "camera", "sky",    "materials", "objects"};
constexpr std::string_view kCameraKeys[] = {"position", "look_at",  "up",
                                            "vfov",     "aperture", "focus_distance"};
constexpr std::string_view kSkyKeys[] = {"horizon", "zenith"};
constexpr std::string_view kLambertianKeys[] = {"name", "type", "albedo"};
constexpr std::string_view kMetalKeys[] = {"name", "type", "albedo", "roughness"};
constexpr std::string_view kDielectricKeys[] = {"name", "type", "ior"};
constexpr std::string_view kEmissiveKeys[] = {"name", "type", "emission"};
constexpr std::string_view kSphereKeys[] = {"type", "material", "center", "radius"};
constexpr std::string_view kQuadKeys[] = {"type", "material", "corner", "u", "v"};
constexpr std::string_view kMeshKeys[] = {"type", "material", "vertices", "triangles"};

using Vec = std::array<double, 3>;

double Length(const Vec& a) { return std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]); }
Vec Cross(const Vec& a, const Vec& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
Vec ToVec(const Float3& f) { return {f[0], f[1], f[2]}; }
Vec Minus(const Float3& a, const Float3& b) {
  return {double{a[0]} - b[0], double{a[1]} - b[1], double{a[2]} - b[2]};
}
bool Parallel(const Vec& a, const Vec& b) {
  return Length(Cross(a, b)) <= kParallelSine * Length(a) * Length(b);
}

class Validator {
 public:
  explicit Validator(Findings& findings) : findings_(findings) {}

  SceneDescription Run(const Json& root) {
    SceneDescription scene;
    if (!Object(root, kSceneKeys)) return scene;
    scene.width = static_cast<int>(IntField(root, "width", true, 1, 4096).value_or(0));
    scene.height = static_cast<int>(IntField(root, "height", true, 1, 4096).value_or(0));
    scene.samples = static_cast<int>(IntField(root, "samples", true, 1, 65536).value_or(0));
    scene.max_depth = static_cast<int>(IntField(root, "max_depth", false, 1, 64).value_or(8));
    scene.seed = static_cast<std::uint32_t>(
        IntField(root, "seed", false, 0, std::numeric_limits<std::uint32_t>::max()).value_or(0));
    Member(root, "camera", true, [&](const Json& v) { ReadCamera(v, scene.camera); });
    Member(root, "sky", false, [&](const Json& v) { ReadSky(v, scene.sky); });
    Member(root, "materials", true, [&](const Json& v) { ReadMaterials(v, scene); });
    Member(root, "objects", true, [&](const Json& v) { ReadObjects(v, scene); });
    return scene;
  }

 private:
  void Fail(std::string detail) { findings_.Add(path_.ToPointer(), std::move(detail)); }

  // Calls read(value) with the path at `key`; reports a missing required key.
  template <typename Fn>
  auto Member(const Json& obj, std::string_view key, bool required, Fn&& read)
      -> decltype(read(obj)) {
    Scope scope(path_, key);
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) Fail("is required");
      return decltype(read(obj))();
    }
    return read(*it);
  }

  // Reports a non-object and every key outside `allowed`.
  bool Object(const Json& v, Keys allowed) {
    if (!v.is_object()) {
      Fail("must be an object");
      return false;
    }
    for (const auto& [key, value] : v.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        Scope scope(path_, std::string_view(key));
        Fail("unknown key");
      }
    }
    return true;
  }

  bool Array(const Json& v) {
    if (!v.is_array()) Fail("must be an array");
    return v.is_array();
  }

  // An array within `limit` elements; `what` names them in the finding.
  bool BoundedArray(const Json& v, std::uint64_t count_before, std::uint64_t limit,
                    const char* what, bool non_empty) {
    if (!Array(v)) return false;
    if (non_empty && v.empty()) {
      Fail("must not be empty");
      return false;
    }
    if (count_before + v.size() > limit) {
      Fail(std::string("too many ") + what + ": at most " + std::to_string(limit) +
           (count_before > 0 ? " in total" : ""));
      return false;
    }
    return true;
  }

  // JSON Schema's "integer": any number with no fractional part.
  std::optional<std::int64_t> Integer(const Json& v, std::int64_t lo, std::int64_t hi,
                                      const std::string& range_detail = {}) {
    std::optional<std::int64_t> value;
    bool in_range = false;
    if (v.is_number_integer() && v.is_number_unsigned()) {
      auto u = v.get<std::uint64_t>();
      in_range =
          u <= static_cast<std::uint64_t>(hi) && (lo <= 0 || u >= static_cast<std::uint64_t>(lo));
      value = in_range ? std::optional<std::int64_t>(static_cast<std::int64_t>(u)) : std::nullopt;
    } else if (v.is_number_integer()) {
      auto i = v.get<std::int64_t>();
      in_range = i >= lo && i <= hi;
      value = i;
    } else if (v.is_number_float() && std::trunc(v.get<double>()) == v.get<double>()) {
      double d = v.get<double>();
      in_range = d >= static_cast<double>(lo) && d <= static_cast<double>(hi);
      value = in_range ? std::optional<std::int64_t>(static_cast<std::int64_t>(d)) : std::nullopt;
    } else {
      Fail("must be an integer");
      return std::nullopt;
    }
    if (!in_range) {
      Fail(range_detail.empty()
               ? "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"
               : range_detail);
      return std::nullopt;
    }
    return value;
  }

  std::optional<double> Number(const Json& v, const Range& range) {
    if (!v.is_number()) {
      Fail("must be a number");
      return std::nullopt;
    }
    double d = v.get<double>();
    if (!range.Contains(d)) {
      Fail(range.Describe(d));
      return std::nullopt;
    }
    return d;
  }

  std::optional<Float3> Vector(const Json& v, const Range& range) {
    if (!v.is_array() || v.size() != 3) {
      Fail("must be an array of 3 numbers");
      return std::nullopt;
    }
    Float3 out{};
    bool ok = true;
    for (std::size_t i = 0; i < 3; ++i) {
      Scope scope(path_, i);
      auto d = Number(v[i], range);
      ok = ok && d.has_value();
      if (d) out[i] = static_cast<float>(*d);
    }
    return ok ? std::optional<Float3>(out) : std::nullopt;
  }

  std::optional<std::string_view> String(const Json& v) {
    if (!v.is_string()) {
      Fail("must be a string");
      return std::nullopt;
    }
    return std::string_view(v.get_ref<const std::string&>());
  }

  std::optional<std::int64_t> IntField(const Json& obj, std::string_view key, bool required,
                                       std::int64_t lo, std::int64_t hi) {
    return Member(obj, key, required, [&](const Json& v) { return Integer(v, lo, hi); });
  }
  std::optional<double> NumberField(const Json& obj, std::string_view key, bool required,
                                    const Range& range) {
    return Member(obj, key, required, [&](const Json& v) { return Number(v, range); });
  }
  std::optional<Float3> VectorField(const Json& obj, std::string_view key, bool required,
                                    const Range& range) {
    return Member(obj, key, required, [&](const Json& v) { return Vector(v, range); });
  }
  std::optional<std::string_view> StringField(const Json& obj, std::string_view key) {
    return Member(obj, key, true, [&](const Json& v) { return String(v); });
  }

  void ReadCamera(const Json& v, CameraDesc& cam) {
    if (!Object(v, kCameraKeys)) return;
    auto position = VectorField(v, "position", true, kCoordinate);
    auto look_at = VectorField(v, "look_at", true, kCoordinate);
    auto up = VectorField(v, "up", false, kCoordinate);
    auto focus = NumberField(v, "focus_distance", false, kLength);
    cam.vfov_degrees = static_cast<float>(NumberField(v, "vfov", false, kVfov).value_or(40.0));
    cam.aperture =
        static_cast<float>(NumberField(v, "aperture", false, kNonNegative).value_or(0.0));
    if (position) cam.position = *position;
    if (look_at) cam.look_at = *look_at;
    if (up) cam.up = *up;
    if (focus) cam.focus_distance = static_cast<float>(*focus);
    if (!position || !look_at) return;

    const Vec view = Minus(cam.look_at, cam.position);
    if (Length(view) < kTinyLength) {
      Scope scope(path_, "look_at");
      Fail("must differ from position");
      return;
    }
    if (!focus) cam.focus_distance = static_cast<float>(Length(view));
    if (!up && v.contains("up")) return;  // already reported
    Scope scope(path_, "up");
    if (Length(ToVec(cam.up)) < kTinyLength) {
      Fail("must be non-zero");
    } else if (Parallel(view, ToVec(cam.up))) {
      Fail(up ? "must not be parallel to the view direction (look_at - position)"
              : "is required: the default [0, 1, 0] is parallel to the view direction");
    }
  }

  void ReadSky(const Json& v, SkyDesc& sky) {
    if (!Object(v, kSkyKeys)) return;
    if (auto h = VectorField(v, "horizon", false, kRadiance)) sky.horizon = *h;
    if (auto z = VectorField(v, "zenith", false, kRadiance)) sky.zenith = *z;
  }

  void ReadMaterials(const Json& v, SceneDescription& scene) {
    if (!BoundedArray(v, 0, kMaxMaterials, "materials", /*non_empty=*/false)) return;
    scene.materials.resize(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      Scope scope(path_, i);
      ReadMaterial(v[i], static_cast<std::uint32_t>(i), scene.materials[i]);
    }
  }

  void ReadMaterial(const Json& v, std::uint32_t index, MaterialDesc& m) {
    if (!v.is_object()) {
      Fail("must be an object");
      return;
    }
    if (auto name = StringField(v, "name")) {
      Scope scope(path_, "name");
      if (name->empty() || name->size() > kMaxMaterialNameBytes) {
        Fail("must be 1 to " + std::to_string(kMaxMaterialNameBytes) + " bytes long");
      } else if (auto [it, inserted] = material_index_.emplace(*name, index); !inserted) {
        Fail("duplicate material name " + Quoted(*name) + " (also /materials/" +
             std::to_string(it->second) + ")");
      }
      m.name = std::string(*name);
    }
    auto type = StringField(v, "type");
    if (!type) return;
    if (*type == "lambertian") {
      m.type = MaterialType::kLambertian;
      Object(v, kLambertianKeys);
      m.albedo = VectorField(v, "albedo", true, kUnit).value_or(m.albedo);
    } else if (*type == "metal") {
      m.type = MaterialType::kMetal;
      Object(v, kMetalKeys);
      m.albedo = VectorField(v, "albedo", true, kUnit).value_or(m.albedo);
      m.roughness = static_cast<float>(NumberField(v, "roughness", false, kUnit).value_or(0.0));
    } else if (*type == "dielectric") {
      m.type = MaterialType::kDielectric;
      Object(v, kDielectricKeys);
      m.ior = static_cast<float>(NumberField(v, "ior", true, kIor).value_or(m.ior));
    } else if (*type == "emissive") {
      m.type = MaterialType::kEmissive;
      Object(v, kEmissiveKeys);
      m.emission = VectorField(v, "emission", true, kRadiance).value_or(m.emission);
    } else {
      Scope scope(path_, "type");
      Fail("must be one of lambertian, metal, dielectric, emissive");
    }
  }

  void ReadObjects(const Json& v, SceneDescription& scene) {
    if (!BoundedArray(v, 0, kMaxObjects, "objects", /*non_empty=*/false)) return;
    for (std::size_t i = 0; i < v.size(); ++i) {
      Scope scope(path_, i);
      ReadObject(v[i], scene);
    }
  }

  void ReadObject(const Json& v, SceneDescription& scene) {
    if (!v.is_object()) {
      Fail("must be an object");
      return;
    }
    auto type = StringField(v, "type");
    const std::uint32_t material = ResolveMaterial(v);
    if (!type) return;
    if (*type == "sphere") {
      Object(v, kSphereKeys);
      SphereDesc& s = scene.spheres.emplace_back();
      s.material = material;
      s.center = VectorField(v, "center", true, kCoordinate).value_or(s.center);
      s.radius = static_cast<float>(NumberField(v, "radius", true, kLength).value_or(s.radius));
    } else if (*type == "quad") {
      Object(v, kQuadKeys);
      ReadQuad(v, scene.quads.emplace_back());
      scene.quads.back().material = material;
    } else if (*type == "mesh") {
      Object(v, kMeshKeys);
      ReadMesh(v, scene.meshes.emplace_back());
      scene.meshes.back().material = material;
    } else {
      Scope scope(path_, "type");
      Fail("must be one of sphere, quad, mesh");
    }
  }

  std::uint32_t ResolveMaterial(const Json& v) {
    auto name = StringField(v, "material");
    if (!name) return 0;
    auto it = material_index_.find(std::string(*name));
    if (it != material_index_.end()) return it->second;
    Scope scope(path_, "material");
    Fail("material " + Quoted(*name) + " is not defined");
    return 0;
  }

  void ReadQuad(const Json& v, QuadDesc& q) {
    auto corner = VectorField(v, "corner", true, kCoordinate);
    auto u = VectorField(v, "u", true, kCoordinate);
    auto v_edge = VectorField(v, "v", true, kCoordinate);
    if (corner) q.corner = *corner;
    bool edges_ok = true;
    for (auto [key, edge, out] : {std::tuple{"u", &u, &q.u}, std::tuple{"v", &v_edge, &q.v}}) {
      if (!*edge) {
        edges_ok = false;
        continue;
      }
      *out = **edge;
      if (Length(ToVec(*out)) < kTinyLength) {
        Scope scope(path_, std::string_view(key));
        Fail("must be non-zero");
        edges_ok = false;
      }
    }
    if (edges_ok && Parallel(ToVec(q.u), ToVec(q.v))) {
      Scope scope(path_, "v");
      Fail("must not be parallel to u");
    }
  }

  void ReadMesh(const Json& v, MeshDesc& mesh) {
    std::optional<std::size_t> vertex_count;
    Member(v, "vertices", true, [&](const Json& arr) {
      if (!BoundedArray(arr, total_vertices_, kMaxVertices, "vertices", /*non_empty=*/true)) return;
      total_vertices_ += arr.size();
      vertex_count = arr.size();
      mesh.vertices.resize(arr.size());
      for (std::size_t i = 0; i < arr.size(); ++i) {
        Scope scope(path_, i);
        if (auto p = Vector(arr[i], kCoordinate)) mesh.vertices[i] = *p;
      }
    });
    Member(v, "triangles", true, [&](const Json& arr) {
      if (!BoundedArray(arr, total_triangles_, kMaxTriangles, "triangles", /*non_empty=*/true))
        return;
      total_triangles_ += arr.size();
      mesh.triangles.resize(arr.size());
      for (std::size_t i = 0; i < arr.size(); ++i) {
        Scope scope(path_, i);
        ReadTriangle(arr[i], vertex_count, mesh.triangles[i]);
      }
    });
  }

  void ReadTriangle(const Json& v, std::optional<std::size_t> vertex_count,
                    std::array<std::uint32_t, 3>& tri) {
    if (!v.is_array() || v.size() != 3) {
      Fail("must be an array of 3 vertex indices");
      return;
    }
    const std::int64_t hi = vertex_count ? static_cast<std::int64_t>(*vertex_count) - 1
                                         : std::numeric_limits<std::uint32_t>::max();
    const std::string detail =
        vertex_count ? "must be a vertex index in [0, " + std::to_string(hi) + "]" : std::string();
    for (std::size_t k = 0; k < 3; ++k) {
      Scope scope(path_, k);
      tri[k] = static_cast<std::uint32_t>(Integer(v[k], 0, hi, detail).value_or(0));
    }
  }

  Findings& findings_;
  Path path_;
  std::unordered_map<std::string, std::uint32_t> material_index_;
  std::uint64_t total_vertices_ = 0;
  std::uint64_t total_triangles_ = 0;
};

SceneParseResult ParseAndValidate(std::string_view body) {
  Findings findings;
  DomBuilder builder(body, findings);
  const bool parsed = Json::sax_parse(body.begin(), body.end(), &builder);
  if (builder.malformed()) return *builder.malformed();
  if (!parsed) return std::move(findings).ToError();  // too deep or number overflow

  Validator validator(findings);
  SceneDescription scene = validator.Run(builder.root());
  if (!findings.empty()) return std::move(findings).ToError();
  return scene;
}

}  // namespace

std::string EscapeJsonPointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

SceneParseResult ParseScene(std::string_view body) {
  try {
    return ParseAndValidate(body);
  } catch (const std::exception& e) {
    // Only allocation failure is expected here; the caller still gets an answer.
    SceneError error;
    error.kind = SceneError::Kind::kInvalidScene;
    error.message = std::string("scene could not be processed: ") + PrintableAscii(e.what(), 200);
    error.findings.push_back({"", error.message});
    return error;
  }
}

}  // namespace renderq
