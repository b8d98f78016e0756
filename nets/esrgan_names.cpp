// Old ESRGAN names to BasicSR's (see esrgan_names.h).
#include "nets/esrgan_names.h"

#include <regex>
#include <set>
#include <unordered_set>

#include "engine/error.h"

namespace sr {

namespace {

// A tensor name in a message: at most 80 characters, control and non-ASCII bytes as \xNN (the
// names come from the file, which may hold anything).
std::string shown(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    const unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f) {
      out += (char)c;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > 80) out += "...";
  return out;
}

// model.0 ... model.10 of the 2018 x4 Sequential; `blocks` RRDBs make model.1.sub.0..blocks-1,
// and the trunk's last conv is model.1.sub.<blocks>.
std::string name_2018(const std::string& k, int64_t blocks) {
  // Block indices of at most 6 digits (a release has 23 blocks): no overflow in the comparison.
  static const std::regex rdb(R"(model\.1\.sub\.(\d{1,6})\.RDB([123])\.conv([1-5])\.0\.(weight|bias))");
  static const std::regex trunk(R"(model\.1\.sub\.(\d+)\.(weight|bias))");
  static const std::regex top(R"(model\.(\d+)\.(weight|bias))");
  std::smatch m;
  if (std::regex_match(k, m, rdb) && std::stoll(m[1]) < blocks)
    return str_cat("body.", m[1].str(), ".rdb", m[2].str(), ".conv", m[3].str(), ".", m[4].str());
  if (std::regex_match(k, m, trunk) && m[1].str() == std::to_string(blocks)) return "conv_body." + m[2].str();
  if (std::regex_match(k, m, top)) {
    const std::string i = m[1];
    const char* to = i == "0" ? "conv_first" : i == "3" ? "conv_up1" : i == "6" ? "conv_up2" : i == "8" ? "conv_hr"
                   : i == "10" ? "conv_last" : nullptr;
    if (to) return std::string(to) + "." + m[2].str();
  }
  return "";
}

std::string name_2019(const std::string& k) {
  static const std::regex rdb(R"(RRDB_trunk\.(\d+)\.RDB([123])\.conv([1-5])\.(weight|bias))");
  std::smatch m;
  if (std::regex_match(k, m, rdb))
    return str_cat("body.", m[1].str(), ".rdb", m[2].str(), ".conv", m[3].str(), ".", m[4].str());
  for (const auto& [from, to] : {std::pair<const char*, const char*>{"conv_first.", "conv_first."},
                                 {"trunk_conv.", "conv_body."}, {"upconv1.", "conv_up1."}, {"upconv2.", "conv_up2."},
                                 {"HRconv.", "conv_hr."}, {"conv_last.", "conv_last."}}) {
    const std::string f = from;
    if (k.rfind(f, 0) == 0 && (k.substr(f.size()) == "weight" || k.substr(f.size()) == "bias"))
      return to + k.substr(f.size());
  }
  return "";
}

}  // namespace

std::string map_old_esrgan_names(NamedTensors& tensors, const std::string& path) {
  std::unordered_set<std::string> names;
  for (const auto& [k, t] : tensors) names.insert(k);
  const bool v2018 = names.count("model.1.sub.0.RDB1.conv1.0.weight") > 0;
  const bool v2019 = names.count("RRDB_trunk.0.RDB1.conv1.weight") > 0;
  if (!v2018 && !v2019) return "";
  const std::string naming = v2018 ? "ESRGAN 2018 names (model.N)" : "ESRGAN 2019 names (RRDB_trunk)";
  int64_t blocks = 0;
  while (names.count(str_cat("model.1.sub.", blocks, ".RDB1.conv1.0.weight"))) ++blocks;
  std::set<std::string> seen;
  for (auto& [k, t] : tensors) {
    const std::string basicsr = v2018 ? name_2018(k, blocks) : name_2019(k);
    SR_CHECK(!basicsr.empty(), "weights '", path, "': uses the original ", naming, ", but its tensor '", shown(k),
             "' has no place in BasicSR's RRDBNet (only the x4 layout of xinntao/ESRGAN's releases is mapped; "
             "give the file in BasicSR's names)");
    SR_CHECK(seen.insert(basicsr).second, "weights '", path, "': two tensors become '", basicsr, "' (the second: '",
             shown(k), "')");
    k = basicsr;
  }
  return naming;
}

}  // namespace sr
