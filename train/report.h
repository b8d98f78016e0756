// report.html: one self-contained page (inline SVG charts, images embedded as data URIs),
// rewritten after every validation from metrics.jsonl and the saved validation crops.
#pragma once
#include <string>
#include <vector>

namespace sr::train {

struct ReportImage {
  std::string name;
  std::string bicubic_png, sr_png, gt_png;  // files to embed (same-size crops)
};

// Reads <dir>/metrics.jsonl and writes <dir>/report.html (atomically).
void write_report(const std::string& experiment_dir, const std::string& title,
                  const std::vector<ReportImage>& images);

}  // namespace sr::train
