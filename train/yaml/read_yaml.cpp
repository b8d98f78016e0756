// YAML -> JSON through yaml-cpp, resolving plain scalars as PyYAML does (YAML 1.1), so an
// option file means here what it means to BasicSR. yaml-cpp itself resolves no types (it
// keeps every scalar as text plus its tag) and does not know `<<` merge keys: both are here.
#include "train/yaml/read_yaml.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <regex>

#include "engine/error.h"
#include "engine/regular_file.h"

namespace sr::train {

namespace {

using nlohmann::json;

constexpr uint64_t kMaxYamlBytes = 64u << 20;
constexpr int kMaxDepth = 64;           // the option files need 5
constexpr size_t kMaxNodes = 1u << 20;  // aliases can expand exponentially ("billion laughs")

struct Reader {
  std::string file;
  size_t nodes = 0;

  template <class... Args>
  [[noreturn]] void error(const YAML::Node& n, const Args&... args) const {
    const YAML::Mark m = n.Mark();
    fail("options '", file, "' line ", m.line + 1, ", column ", m.column + 1, ": ", args...);
  }

  json convert(const YAML::Node& n, int depth) {
    if (depth > kMaxDepth) error(n, "nested more than ", kMaxDepth, " levels deep");
    if (++nodes > kMaxNodes) error(n, "more than ", kMaxNodes, " values once aliases are expanded");
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: return nullptr;
      case YAML::NodeType::Scalar: return scalar(n);
      case YAML::NodeType::Sequence: {
        json a = json::array();
        for (const auto& item : n) a.push_back(convert(item, depth + 1));
        return a;
      }
      case YAML::NodeType::Map: return map(n, depth);
    }
    return nullptr;
  }

  // PyYAML's merge: `<<: *anchor` (or a list of them) adds the keys the map does not set itself.
  json map(const YAML::Node& n, int depth) {
    json o = json::object();
    json merged = json::object();
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) error(kv.first, "a map key must be a plain value, not a list or a map");
      const std::string key = kv.first.Scalar();
      if (key == "<<" && kv.first.Tag() == "?") {
        const json m = convert(kv.second, depth + 1);
        const json parts = m.is_array() ? m : json::array({m});
        for (const json& part : parts) {
          if (!part.is_object()) error(kv.second, "'<<' merges maps only, got ", part.dump());
          for (auto it = part.begin(); it != part.end(); ++it)
            if (!merged.contains(it.key())) merged[it.key()] = it.value();
        }
        continue;
      }
      o[key] = convert(kv.second, depth + 1);
    }
    for (auto it = merged.begin(); it != merged.end(); ++it)
      if (!o.contains(it.key())) o[it.key()] = it.value();
    return o;
  }

  json scalar(const YAML::Node& n) {
    const std::string& tag = n.Tag();
    const std::string& v = n.Scalar();
    if (tag == "!") return v;  // quoted: always a string
    if (tag == "?") return plain(v);
    const std::string t = tag.rfind("tag:yaml.org,2002:", 0) == 0 ? tag.substr(18) : tag;
    if (t == "str") return v;
    if (t == "null") return nullptr;
    if (t == "float") {
      const auto f = to_float(v);
      if (!f) error(n, "'!!float ", v, "' is not a number");
      return *f;
    }
    if (t == "int") {
      const auto i = to_int(v);
      if (!i) error(n, "'!!int ", v, "' is not an integer");
      return *i;
    }
    if (t == "bool") {
      const json b = plain(v);
      if (!b.is_boolean()) error(n, "'!!bool ", v, "' is not true or false");
      return b;
    }
    error(n, "the tag '", tag, "' on '", v, "' is not supported (only !!float, !!int, !!str, !!bool, !!null)");
  }

  // An untagged scalar, by PyYAML's implicit resolvers.
  static json plain(const std::string& v) {
    if (v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL") return nullptr;
    static const std::regex yes("yes|Yes|YES|true|True|TRUE|on|On|ON");
    static const std::regex no("no|No|NO|false|False|FALSE|off|Off|OFF");
    if (std::regex_match(v, yes)) return true;
    if (std::regex_match(v, no)) return false;
    static const std::regex integer("[-+]?(0b[01_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+)");
    if (std::regex_match(v, integer))
      if (const auto i = to_int(v)) return *i;
    // A float needs a dot (or is .inf / .nan): `1e-4` is a string to PyYAML, `1.0e-4` a float.
    static const std::regex real(
        "[-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+][0-9]+)?|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
    if (std::regex_match(v, real) && v != "." && v != "+." && v != "-.")
      if (const auto f = to_float(v)) return *f;
    return v;
  }

  static std::string strip(std::string v) {
    std::erase(v, '_');
    return v;
  }

  static std::optional<int64_t> to_int(const std::string& text) {
    std::string v = strip(text);
    bool neg = false;
    if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
      neg = v[0] == '-';
      v = v.substr(1);
    }
    int base = 10;
    if (v.rfind("0x", 0) == 0) base = 16, v = v.substr(2);
    else if (v.rfind("0b", 0) == 0) base = 2, v = v.substr(2);
    else if (v.size() > 1 && v[0] == '0') base = 8, v = v.substr(1);  // YAML 1.1: 010 is 8
    if (v.empty()) return std::nullopt;
    try {
      size_t used = 0;
      const long long x = std::stoll(v, &used, base);
      if (used != v.size()) return std::nullopt;
      return neg ? -x : x;
    } catch (const std::exception&) {
      return std::nullopt;  // not a number, or out of range
    }
  }

  static std::optional<double> to_float(const std::string& text) {
    std::string v = strip(text);
    double sign = 1;
    if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
      sign = v[0] == '-' ? -1 : 1;
      v = v.substr(1);
    }
    if (v == ".inf" || v == ".Inf" || v == ".INF") return sign * std::numeric_limits<double>::infinity();
    if (v == ".nan" || v == ".NaN" || v == ".NAN") return std::numeric_limits<double>::quiet_NaN();
    if (v.empty()) return std::nullopt;
    try {
      size_t used = 0;
      const double x = std::stod(v, &used);
      if (used != v.size()) return std::nullopt;
      return sign * x;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
};

}  // namespace

bool yaml_reader_built() { return true; }

json read_yaml_file(const std::string& path) {
  const RegularFile file(path, "options");
  const std::vector<uint8_t> bytes = file.read_all(kMaxYamlBytes);
  const std::string text(bytes.begin(), bytes.end());
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail("options '", path, "' is not valid YAML: line ", e.mark.line + 1, ", column ", e.mark.column + 1, ": ",
         e.msg);
  }
  Reader r{path};
  json out;
  try {
    out = r.convert(root, 0);
  } catch (const YAML::Exception& e) {
    fail("options '", path, "': line ", e.mark.line + 1, ": ", e.msg);
  }
  SR_CHECK(out.is_object(), "options '", path, "' must hold a map of options (name: ..., datasets: ...), got ",
           out.is_null() ? "nothing" : out.type_name());
  return out;
}

}  // namespace sr::train
