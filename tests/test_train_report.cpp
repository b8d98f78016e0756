// report.html's charts from a hand-written metrics.jsonl: a stage named "psnr" keeps its
// SSIM out of the PSNR chart, a loss term that goes negative (the hinge generator term)
// gets a linear chart instead of being clamped on the log-scale one, stage starts are
// marked, and the page is rewritten atomically (no temporary left behind).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/data_support.h"
#include "train/report.h"

using namespace sr;

namespace {
std::string between(const std::string& s, const std::string& from, const std::string& to) {
  const size_t a = s.find(from);
  REQUIRE(a != std::string::npos);
  const size_t b = s.find(to, a);
  REQUIRE(b != std::string::npos);
  return s.substr(a, b - a);
}
}  // namespace

TEST_CASE("train/report_charts") {
  test::TempDir dir;
  {
    std::ofstream m(dir.file("metrics.jsonl"));
    m << R"({"event":"train","stage":"psnr","iter":10,"l_g_pix":0.2,"lr":1e-3})" << "\n"
      << R"({"event":"train","stage":"psnr","iter":20,"l_g_pix":0.1,"lr":1e-3})" << "\n"
      << R"({"event":"val","stage":"psnr","iter":20,"val_psnr":25.0,"val_ssim":0.7})" << "\n"
      << R"({"event":"train","stage":"gan","iter":10,"l_g_pix":0.1,"l_g_gan":-0.01,"l_d_real":0.9,"lr":1e-4})" << "\n"
      << R"({"event":"train","stage":"gan","iter":20,"l_g_pix":0.1,"l_g_gan":0.02,"l_d_real":0.8,"lr":1e-4})" << "\n"
      << R"({"event":"val","stage":"gan","iter":20,"val_psnr":24.0,"val_ssim":0.68})" << "\n";
  }
  train::write_report(dir.path(), "unit", {});
  std::ifstream in(dir.file("report.html"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string html = ss.str();
  CHECK_FALSE(std::filesystem::exists(dir.file("report.html.tmp")));

  const std::string log_chart = between(html, "losses (log scale)", "</figure>");
  CHECK_THAT(log_chart, Catch::Contains("psnr l_g_pix") && Catch::Contains("gan l_d_real"));
  CHECK_THAT(log_chart, !Catch::Contains("l_g_gan"));
  CHECK_THAT(between(html, "signed loss terms", "</figure>"), Catch::Contains("gan l_g_gan"));

  const std::string psnr_chart = between(html, "PSNR (dB)", "</figure>");
  CHECK_THAT(psnr_chart, Catch::Contains("psnr val_psnr") && Catch::Contains("gan val_psnr"));
  CHECK_THAT(psnr_chart, !Catch::Contains("val_ssim"));
  CHECK_THAT(between(html, "other metrics", "</figure>"),
             Catch::Contains("psnr val_ssim") && Catch::Contains("gan val_ssim"));
  // A stage with a single validation still shows: its point is drawn as a dot.
  CHECK_THAT(psnr_chart, Catch::Contains("<circle"));
  // The gan stage starts after psnr's 20 iterations: a dashed marker labelled "gan".
  CHECK_THAT(log_chart, Catch::Contains("stroke-dasharray") && Catch::Contains(">gan</text>"));
}

// precision fp16 runs log their loss scale: a chart of its own (log scale), absent otherwise.
TEST_CASE("train/report_loss_scale_chart") {
  test::TempDir dir;
  {
    std::ofstream m(dir.file("metrics.jsonl"));
    m << R"({"event":"train","stage":"psnr","iter":10,"l_g_pix":0.2,"lr":1e-3})" << "\n";
  }
  train::write_report(dir.path(), "unit", {});
  auto html = [&] {
    std::ifstream in(dir.file("report.html"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CHECK_THAT(html(), !Catch::Contains("loss scale"));
  {
    std::ofstream m(dir.file("metrics.jsonl"));
    m << R"({"event":"train","stage":"psnr","iter":10,"l_g_pix":0.2,"lr":1e-3,"loss_scale":65536,"overflow_skipped":0})"
      << "\n"
      << R"({"event":"train","stage":"psnr","iter":20,"l_g_pix":0.1,"lr":1e-3,"loss_scale":32768,"overflow_skipped":1})"
      << "\n";
  }
  train::write_report(dir.path(), "unit", {});
  const std::string h = html();
  CHECK_THAT(between(h, "fp16 loss scale (log scale)", "</figure>"), Catch::Contains("psnr loss_scale"));
  CHECK_THAT(between(h, "losses (log scale)", "</figure>"), !Catch::Contains("loss_scale"));
}
