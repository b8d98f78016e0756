// report.html writer (see report.h): loss curves and validation metrics as inline SVG
// polylines, and bicubic / SR / GT crops side by side.
#include "train/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/error.h"

namespace sr::train {

namespace {

using Series = std::map<std::string, std::vector<std::pair<double, double>>>;
// Where each stage starts on the cumulative iteration axis, drawn as a dashed line.
using StageMarks = std::vector<std::pair<double, std::string>>;

std::string base64(const std::string& bytes) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63], out += tbl[(v >> 6) & 63], out += tbl[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = (unsigned char)bytes[i] << 16;
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63], out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63], out += tbl[(v >> 6) & 63], out += '=';
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

// One chart: every series as a polyline over a shared x range, log-scaled y when asked
// (callers pass only positive series then), stage starts as dashed vertical lines.
std::string svg_chart(const std::string& title, const Series& series, bool log_y, const StageMarks& stages) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto ty = [&](double y) { return log_y ? std::log10(std::max(y, 1e-12)) : y; };
  for (const auto& [_, pts] : series)
    for (const auto& [x, y] : pts) {
      if (!std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, ty(y)), y1 = std::max(y1, ty(y));
    }
  std::ostringstream os;
  os << "<figure><figcaption>" << escape(title) << "</figcaption>";
  if (!(x1 >= x0)) return os.str() + "<p>no data yet</p></figure>";
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1e-9 + std::fabs(y0) * 1e-3;
  const double W = 560, H = 240, L = 60, B = 30, T = 10, R = 10;
  os << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "'>";
  os << "<rect x='" << L << "' y='" << T << "' width='" << W - L - R << "' height='" << H - T - B
     << "' fill='#fafafa' stroke='#999'/>";
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return T + (1 - (ty(y) - y0) / (y1 - y0)) * (H - T - B); };
  char buf[64];
  for (int i = 0; i <= 4; ++i) {
    const double v = y0 + (y1 - y0) * i / 4;
    std::snprintf(buf, sizeof buf, "%.4g", log_y ? std::pow(10, v) : v);
    os << "<text x='2' y='" << T + (1 - i / 4.0) * (H - T - B) + 4 << "' font-size='10'>" << buf << "</text>";
  }
  std::snprintf(buf, sizeof buf, "%.0f", x0);
  os << "<text x='" << L << "' y='" << H - 8 << "' font-size='10'>" << buf << "</text>";
  std::snprintf(buf, sizeof buf, "%.0f", x1);
  os << "<text x='" << W - R - 40 << "' y='" << H - 8 << "' font-size='10'>" << buf << "</text>";
  for (const auto& [x, name] : stages) {
    if (x <= x0 || x > x1) continue;
    os << "<line x1='" << px(x) << "' x2='" << px(x) << "' y1='" << T << "' y2='" << H - B
       << "' stroke='#777' stroke-dasharray='4 3'/><text x='" << px(x) + 3 << "' y='" << H - B - 4
       << "' font-size='10' fill='#555'>" << escape(name) << "</text>";
  }
  int k = 0;
  for (const auto& [name, pts] : series) {
    const char* color = kColors[k % 8];
    os << "<polyline fill='none' stroke='" << color << "' stroke-width='1.5' points='";
    for (const auto& [x, y] : pts)
      if (std::isfinite(y)) os << px(x) << "," << py(y) << " ";
    os << "'/>";
    // Sparse series (validation: a handful of points; a stage with one validation) get a
    // dot per point, since a one-point polyline draws nothing.
    if (pts.size() <= 60)
      for (const auto& [x, y] : pts)
        if (std::isfinite(y))
          os << "<circle cx='" << px(x) << "' cy='" << py(y) << "' r='2.5' fill='" << color << "'/>";
    os << "<text x='" << L + 8 << "' y='" << T + 14 + 12 * k << "' font-size='11' fill='" << color << "'>"
       << escape(name) << "</text>";
    ++k;
  }
  os << "</svg></figure>";
  return os.str();
}

}  // namespace

void write_report(const std::string& dir, const std::string& title, const std::vector<ReportImage>& images) {
  // metrics: validation values keyed "<stage> <metric>", psnr_keys those whose metric
  // (not stage) name is a PSNR, so that a stage called "psnr" does not pull its SSIM
  // into the PSNR chart.
  Series losses, metrics, lrs, loss_scales;  // loss_scales: precision fp16 only
  std::set<std::string> psnr_keys;
  StageMarks stages;
  std::ifstream in(dir + "/metrics.jsonl");
  std::string line, last_stage;
  double offset = 0, last_iter = 0;
  while (std::getline(in, line)) {
    nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.contains("iter")) continue;
    // Iterations restart per stage; plot them on one axis of cumulative iterations.
    const std::string stage = e.value("stage", "");
    if (stage != last_stage && !last_stage.empty()) offset += last_iter;
    if (stage != last_stage) stages.push_back({offset, stage});
    last_stage = stage;
    last_iter = e["iter"].get<double>();
    const double x = offset + last_iter;
    const std::string kind = e.value("event", "");
    for (auto it = e.begin(); it != e.end(); ++it) {
      if (!it.value().is_number()) continue;
      const std::string& k = it.key();
      if (kind == "train" && k.rfind("l_", 0) == 0) losses[stage + " " + k].push_back({x, it.value()});
      if (kind == "train" && k == "lr") lrs[stage + " lr"].push_back({x, it.value()});
      if (kind == "train" && k == "loss_scale") loss_scales[stage + " loss_scale"].push_back({x, it.value()});
      if (kind == "val" && k != "iter" && k != "epoch") {
        metrics[stage + " " + k].push_back({x, it.value()});
        if (k.find("psnr") != std::string::npos) psnr_keys.insert(stage + " " + k);
      }
    }
  }
  std::ostringstream os;
  os << "<!doctype html><html><head><meta charset='utf-8'><title>" << escape(title)
     << " — srengine report</title><style>body{font-family:sans-serif;margin:20px;max-width:1200px}"
        "figure{display:inline-block;margin:8px}figcaption{font-weight:bold}"
        ".trip img{image-rendering:pixelated;width:256px;margin:2px;border:1px solid #ccc}"
        ".trip span{display:inline-block;width:262px;text-align:center}</style></head><body>";
  os << "<h1>" << escape(title) << "</h1><p>srengine training report, rewritten at every validation.</p>";
  // Positive losses span decades (log scale); terms that can be zero or negative (the
  // hinge generator term -mean(D(G(x)))) get a linear chart of their own.
  Series positive, signed_terms;
  for (const auto& [k, pts] : losses) {
    const bool all_positive = std::all_of(pts.begin(), pts.end(), [](const auto& p) { return p.second > 0; });
    (all_positive ? positive : signed_terms)[k] = pts;
  }
  os << "<h2>Training losses</h2>" << svg_chart("losses (log scale)", positive, true, stages);
  if (!signed_terms.empty()) os << svg_chart("signed loss terms (linear)", signed_terms, false, stages);
  os << svg_chart("learning rate", lrs, false, stages);
  // fp16 loss scaling (train/loss_scaler.h): S halves on overflow and doubles after a run of
  // good updates, so it spans decades.
  if (!loss_scales.empty()) os << svg_chart("fp16 loss scale (log scale)", loss_scales, true, stages);
  os << "<h2>Validation</h2>";
  Series psnr, other;
  for (auto& [k, v] : metrics) (psnr_keys.count(k) ? psnr : other)[k] = v;
  os << svg_chart("PSNR (dB)", psnr, false, stages) << svg_chart("other metrics", other, false, stages);
  if (!images.empty()) os << "<h2>Validation crops: bicubic | SR | GT</h2>";
  for (const auto& im : images) {
    os << "<div class='trip'><p>" << escape(im.name) << "</p>";
    std::string labels;
    for (const auto& [label, path] : {std::pair<const char*, std::string>{"bicubic", im.bicubic_png},
                                      {"SR", im.sr_png}, {"GT", im.gt_png}}) {
      if (path.empty() || !std::filesystem::exists(path)) continue;  // an LQ-only set has no GT
      os << "<img alt='" << label << "' title='" << label << "' src='data:image/png;base64," << base64(read_file(path))
         << "'>";
      labels += str_cat("<span>", label, "</span>");
    }
    os << "<br>" << labels << "</div>";
  }
  os << "</body></html>\n";
  const std::string tmp = dir + "/report.html.tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << os.str();
    SR_CHECK(out.good(), "report: cannot write '", tmp, "'");
  }
  std::filesystem::rename(tmp, dir + "/report.html");
}

}  // namespace sr::train
