// NIQE (data/niqe.h) and the .npz files its model lives in (data/npz.h): scores and fits
// against tests/python/niqe_reference.py (scipy's convolve and NumPy's statistics, as BasicSR
// computes NIQE), flat and small images, hostile model files, and `srengine metrics --niqe` /
// `srengine niqe-fit`. The Python side is skipped with a warning where python3-numpy,
// python3-scipy or python3-pil is missing.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/image_io.h"
#include "data/niqe.h"
#include "data/npz.h"
#include "support/data_support.h"

using namespace sr;
namespace fs = std::filesystem;

namespace {

bool niqe_python_available() {
  static const bool ok =
      std::system("/usr/bin/python3 -c 'import numpy, scipy.ndimage, PIL' > /dev/null 2>&1") == 0;
  if (!ok) WARN("SKIPPED: /usr/bin/python3 with python3-numpy, python3-scipy and python3-pil is needed (tools/setup.sh)");
  return ok;
}

std::string niqe_script() { return std::string(SRENGINE_SOURCE_DIR) + "/tests/python/niqe_reference.py"; }
std::string photos(const std::string& set) { return std::string(SRENGINE_SOURCE_DIR) + "/datasets/" + set; }

int niqe_run(const std::string& cmd, const std::string& log) {
  return std::system((cmd + " > " + log + " 2>&1").c_str());
}

// "NAME VALUE" lines of niqe_reference.py score.
std::map<std::string, double> reference_scores(const std::string& model, int crop, const std::vector<std::string>& files,
                                               const test::TempDir& tmp, const std::string& flags) {
  std::string cmd = "/usr/bin/python3 " + niqe_script() + " " + flags + " score " + model + " " + std::to_string(crop);
  for (const std::string& f : files) cmd += " " + f;
  REQUIRE(niqe_run(cmd, tmp.file("scores.txt")) == 0);
  std::map<std::string, double> out;
  std::istringstream in(test::read_text(tmp.file("scores.txt")));
  std::string name, value;
  while (in >> name >> value) out[name] = value == "inf" ? INFINITY : std::stod(value);
  REQUIRE(out.size() == files.size());
  return out;
}

// Test images beside the photos: noise, a half-flat image (flat blocks give NaN features and
// ties in the local means), a noisy gradient, and one whose sides are not multiples of 96.
std::vector<std::string> synthetic_images(const test::TempDir& tmp) {
  std::mt19937_64 rng(20261207);
  std::vector<std::string> files;
  auto save = [&](const std::string& name, const data::Image& img) {
    files.push_back(tmp.file(name));
    data::write_image(files.back(), img);
  };
  save("noise.png", test::random_image(rng, 300, 200, 3));
  data::Image half = test::random_image(rng, 300, 200, 3);
  for (int y = 0; y < half.height; ++y)
    for (int x = 0; x < 150; ++x)
      for (int c = 0; c < 3; ++c) half.at(y, x, c) = 120.0f / 255;
  save("halfflat.png", half);
  // Two blocks, one flat: a single all-finite feature row (np.cov's one-variable reading).
  data::Image one_flat = test::random_image(rng, 200, 104, 3);  // two whole blocks at crop_border 0 and 4
  for (int y = 0; y < 104; ++y)
    for (int x = 0; x < 100; ++x)
      for (int c = 0; c < 3; ++c) one_flat.at(y, x, c) = 80.0f / 255;
  save("oneflat.png", one_flat);
  data::Image grad(290, 203, 3, 8);
  std::normal_distribution<double> n(0, 2);
  for (int y = 0; y < grad.height; ++y)
    for (int x = 0; x < grad.width; ++x)
      for (int c = 0; c < 3; ++c)
        grad.at(y, x, c) = (float)(std::clamp(std::round(x * 255.0 / 289 + n(rng)), 0.0, 255.0) / 255);
  save("gradient.png", grad);
  // Gray is measured as it is, not as the Y of three equal channels.
  data::Image gray(250, 200, 1, 8);
  const data::Image photo = data::read_image(photos("val_photos") + "/mate_wood.png");
  for (int y = 0; y < gray.height; ++y)
    for (int x = 0; x < gray.width; ++x) gray.at(y, x, 0) = photo.at(y, x, 1);
  save("gray.png", gray);
  return files;
}

std::vector<std::string> folder_images(const std::string& dir) {
  std::vector<std::string> files;
  for (const std::string& name : data::list_image_files(dir)) files.push_back(dir + "/" + name);
  return files;
}

data::NiqeModel fit_photos(const std::string& dir) {
  data::NiqeModelFitter fitter;
  for (const std::string& f : folder_images(dir)) fitter.add(data::read_image(f));
  return fitter.fit();
}

double relative_difference(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(a), 1e-300); }

// .npy bytes with a given header dictionary and body.
std::vector<uint8_t> npy(const std::string& dict, const std::vector<uint8_t>& body, int major = 1) {
  std::string header = dict;
  header += std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', (uint8_t)major, 0};
  out.push_back(header.size() & 0xff);
  out.push_back(header.size() >> 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<uint8_t> f8_bytes(const std::vector<double>& v) {
  std::vector<uint8_t> out(v.size() * 8);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

}  // namespace

TEST_CASE("data/npz_reads_and_writes_what_numpy_does") {
  if (!niqe_python_available()) return;
  test::TempDir tmp;
  // NumPy writes: float64 and float32, C and Fortran order, a scalar, a stored and a deflated archive.
  const std::string py =
      "import numpy as np, sys\n"
      "a = np.arange(6, dtype=np.float64).reshape(2, 3) / 7\n"
      "b = np.array([1.5, -2.25, 3e-8], dtype=np.float32)\n"
      "c = np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4) * 0.1)\n"
      "d = np.float64(2.0) ** 0.5\n"
      "np.savez(sys.argv[1] + '/plain.npz', a=a, b=b, c=c, d=d)\n"
      "np.savez_compressed(sys.argv[1] + '/deflated.npz', a=a, b=b, c=c, d=d)\n";
  test::write_text(tmp.file("make.py"), py);
  REQUIRE(niqe_run("/usr/bin/python3 " + tmp.file("make.py") + " " + tmp.path(), tmp.file("make.log")) == 0);
  for (const char* name : {"plain.npz", "deflated.npz"}) {
    INFO(name);
    const auto arrays = data::read_npz(tmp.file(name));
    REQUIRE(arrays.size() == 4);
    CHECK(arrays.at("a").shape == std::vector<int64_t>{2, 3});
    for (int i = 0; i < 6; ++i) CHECK(arrays.at("a").values[i] == i / 7.0);
    CHECK(arrays.at("b").values == std::vector<double>{1.5, -2.25, (double)3e-8f});
    CHECK(arrays.at("c").shape == std::vector<int64_t>{3, 4});
    for (int i = 0; i < 12; ++i) CHECK(arrays.at("c").values[i] == i * 0.1);  // C order after reading
    CHECK(arrays.at("d").shape.empty());
    CHECK(arrays.at("d").values == std::vector<double>{std::sqrt(2.0)});
  }
  // What srengine writes, NumPy reads back exactly.
  data::write_npz(tmp.file("ours.npz"), {{"m", data::NpyArray{{2, 2}, {0.1, -1e300, 3.0, 4.5}}},
                                         {"v", data::NpyArray{{3}, {1.0, 2.0, 1.0 / 3}}}});
  test::write_text(tmp.file("check.py"),
                   "import numpy as np, sys\n"
                   "z = np.load(sys.argv[1])\n"
                   "assert sorted(z.files) == ['m', 'v'], z.files\n"
                   "assert z['m'].dtype == np.float64 and z['m'].shape == (2, 2)\n"
                   "assert (z['m'] == np.array([[0.1, -1e300], [3.0, 4.5]])).all()\n"
                   "assert (z['v'] == np.array([1.0, 2.0, 1.0 / 3])).all()\n");
  CHECK(niqe_run("/usr/bin/python3 " + tmp.file("check.py") + " " + tmp.file("ours.npz"), tmp.file("check.log")) == 0);
  INFO(test::read_text(tmp.file("check.log")));
}

TEST_CASE("data/npz_refuses_hostile_files") {
  const int64_t max = 1000;
  const std::vector<uint8_t> six = f8_bytes({1, 2, 3, 4, 5, 6});
  // A well-formed array parses (the cases below differ from it in one thing each).
  const std::vector<uint8_t> good = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", six);
  const data::NpyArray ok = data::parse_npy(good.data(), good.size(), "ok.npy", max);
  CHECK(ok.values == std::vector<double>{1, 2, 3, 4, 5, 6});
  auto refused = [&](const std::vector<uint8_t>& bytes, const std::vector<std::string>& parts) {
    test::require_error([&] { data::parse_npy(bytes.data(), bytes.size(), "bad.npy", max); }, parts);
  };
  std::vector<uint8_t> not_npy = six;
  refused(not_npy, {"bad.npy", "not a .npy"});
  refused(npy("{'descr': '|O', 'fortran_order': False, 'shape': (6,), }", six), {"bad.npy", "'|O'", "pickles"});
  refused(npy("{'descr': '>f8', 'fortran_order': False, 'shape': (6,), }", six), {"bad.npy", "'>f8'"});
  refused(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }", six), {"bad.npy", "'<i8'"});
  refused(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (7,), }", six), {"bad.npy", "48 bytes", "56"});
  refused(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100, 100), }", six), {"bad.npy", "more than 1000"});
  refused(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999, 1), }", six),
          {"bad.npy", "too large"});
  refused(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': 1, }", six), {"bad.npy", "'x'"});
  refused(npy("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", six),
          {"bad.npy", "repeated"});
  refused(npy("{'descr': '<f8', 'shape': (6,), }", six), {"bad.npy", "lacks"});
  refused(npy("{'descr': '<f8', 'fortran_order': __import__('os').system('false'), 'shape': (6,), }", six),
          {"bad.npy", "True or False"});
  refused(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-6,), }", six), {"bad.npy", "non-negative"});
  refused(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), } junk", six), {"bad.npy", "after"});
  refused(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", six, 4), {"bad.npy", "version 4"});
  std::vector<uint8_t> long_header = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", six);
  long_header[8] = 0xff, long_header[9] = 0xff;
  refused(long_header, {"bad.npy", "runs past the end"});
  // Archives: not a zip, and a zip with an entry that is not an array.
  test::TempDir tmp;
  test::write_text(tmp.file("text.npz"), "mu_pris_param = [1, 2, 3]\n");
  test::require_error([&] { data::read_npz(tmp.file("text.npz")); }, {tmp.file("text.npz"), "not an .npz"});
  test::require_error([&] { data::read_npz(tmp.file("missing.npz")); }, {tmp.file("missing.npz")});
  if (!niqe_python_available()) return;
  test::write_text(tmp.file("make.py"), "import zipfile, sys\n"
                                        "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
                                        "    z.writestr('evil.pkl', b'cos\\nsystem\\n(S\\'false\\'\\ntR.')\n");
  REQUIRE(niqe_run("/usr/bin/python3 " + tmp.file("make.py") + " " + tmp.file("pickle.npz"), tmp.file("make.log")) == 0);
  test::require_error([&] { data::read_npz(tmp.file("pickle.npz")); }, {tmp.file("pickle.npz"), "evil.pkl",
                                                                        "not a .npy"});
  // Arrays that each pass the per-array limit but not together (deflated zeros: a small file
  // that would inflate far): refused from the central directory, before any is inflated.
  test::write_text(tmp.file("big.py"), "import numpy as np, sys\n"
                                       "z = np.zeros(150000)\n"
                                       "np.savez_compressed(sys.argv[1], a=z, b=z, c=z)\n");
  REQUIRE(niqe_run("/usr/bin/python3 " + tmp.file("big.py") + " " + tmp.file("big.npz"), tmp.file("big.log")) == 0);
  CHECK(data::read_npz(tmp.file("big.npz"), 500000).size() == 3);
  test::require_error([&] { data::read_npz(tmp.file("big.npz"), 200000); }, {tmp.file("big.npz"), "together"});
  // Two central-directory entries pointing at one local header (one stream read twice over).
  test::write_text(tmp.file("twice.py"),
                   "import struct, sys, zlib, io, numpy as np\n"
                   "buf = io.BytesIO(); np.save(buf, np.arange(4.0)); data = buf.getvalue()\n"
                   "crc = zlib.crc32(data)\n"
                   "local = struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, 0, 0, 33, crc, len(data), len(data), 5, 0)"
                   " + b'a.npy' + data\n"
                   "cd = b''\n"
                   "for name in (b'a.npy', b'b.npy'):\n"
                   "    cd += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, 0, 0, 33, crc, len(data),"
                   " len(data), 5, 0, 0, 0, 0, 0, 0) + name\n"
                   "end = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 2, 2, len(cd), len(local), 0)\n"
                   "open(sys.argv[1], 'wb').write(local + cd + end)\n");
  REQUIRE(niqe_run("/usr/bin/python3 " + tmp.file("twice.py") + " " + tmp.file("twice.npz"), tmp.file("t.log")) == 0);
  test::require_error([&] { data::read_npz(tmp.file("twice.npz")); }, {tmp.file("twice.npz"), "b.npy",
                                                                       "local header names another entry"});
}

TEST_CASE("data/niqe_matches_the_scipy_reference") {
  if (!niqe_python_available()) return;
  test::TempDir tmp;
  // A pristine model fitted here (BasicSR's file is not in the repository); the reference
  // reads the same file.
  const data::NiqeModel model = fit_photos(photos("train_photos"));
  data::save_niqe_model(tmp.file("model.npz"), model);
  std::vector<std::string> files = folder_images(photos("val_photos"));
  for (const std::string& f : synthetic_images(tmp)) files.push_back(f);
  for (const std::string& f : folder_images(photos("train_photos")))
    if (f.find("astronaut") != std::string::npos || f.find("chelsea") != std::string::npos) files.push_back(f);
  for (int crop : {0, 4}) {
    const auto ref = reference_scores(tmp.file("model.npz"), crop, files, tmp, "");
    // The same reference with float64 arrays: the half-flat image's score moves by a third.
    // The comparison must see that (float32 arrays are what BasicSR's numbers are made of).
    const auto ref64 = reference_scores(tmp.file("model.npz"), crop, files, tmp, "--float64");
    std::vector<double> differences;
    double float64_moved = 0;
    for (const std::string& f : files) {
      const std::string name = fs::path(f).filename().string();
      INFO(name << " crop_border " << crop);
      const double ours = data::calculate_niqe(data::read_image(f), crop, model);
      CHECK(std::isfinite(ours));
      differences.push_back(relative_difference(ours, ref.at(name)));
      // An alpha on the other side of a near-tie of the shape grid (the reference's powers
      // come from NumPy's vectorised pow) moves a score by ~1e-5: the bound every image meets.
      CHECK(differences.back() < 1e-4);
      float64_moved = std::max(float64_moved, relative_difference(ours, ref64.at(name)));
    }
    std::sort(differences.begin(), differences.end());
    CHECK(differences[differences.size() / 2] < 1e-10);  // the median image: equal to rounding
    CHECK(float64_moved > 1e-2);
  }
}

TEST_CASE("data/niqe_fit_matches_the_scipy_reference") {
  if (!niqe_python_available()) return;
  test::TempDir tmp;
  const data::NiqeModel model = fit_photos(photos("train_photos"));
  // NIQE's own window: 7x7, sigma 7/6, symmetric, summing to 1.
  REQUIRE(model.window_size == 7);
  double sum = 0;
  for (double w : model.window) sum += w;
  CHECK(std::fabs(sum - 1) < 1e-15);
  CHECK(model.window[0] == model.window[48]);
  CHECK(std::fabs(model.window[24] / model.window[23] - std::exp(1 / (2 * (7.0 / 6) * (7.0 / 6)))) < 1e-12);
  data::save_niqe_model(tmp.file("ours.npz"), model);
  std::string cmd = "/usr/bin/python3 " + niqe_script() + " fit " + tmp.file("ref.npz") + " 0.75 " + tmp.file("ours.npz");
  for (const std::string& f : folder_images(photos("train_photos"))) cmd += " " + f;
  REQUIRE(niqe_run(cmd, tmp.file("fit.log")) == 0);
  const data::NiqeModel ref = data::load_niqe_model(tmp.file("ref.npz"));
  // A few of the 147 blocks' features differ in their last float32 bits (1e-8 of a score, as
  // in the test above); the fit averages them.
  for (int i = 0; i < data::kNiqeFeatures; ++i) CHECK(relative_difference(model.mu[i], ref.mu[i]) < 1e-7);
  double cov_scale = 0;
  for (double c : ref.cov) cov_scale = std::max(cov_scale, std::fabs(c));
  for (size_t i = 0; i < ref.cov.size(); ++i) CHECK(std::fabs(model.cov[i] - ref.cov[i]) < 1e-7 * cov_scale);
  // The model this folder gives rates its own images as natural and noise as far from them.
  std::mt19937_64 rng(7);
  const double photo = data::calculate_niqe(data::read_image(folder_images(photos("val_photos"))[0]), 0, model);
  const double noise = data::calculate_niqe(test::random_image(rng, 288, 192, 3), 0, model);
  CHECK(photo < noise);
}

TEST_CASE("data/niqe_flat_small_and_bad_inputs") {
  test::TempDir tmp;
  data::NiqeModel model = fit_photos(photos("train_photos"));
  // A flat image has no distribution to fit: inf, the worst score (BasicSR raises).
  data::Image flat(288, 192, 3, 8);
  for (float& v : flat.pixels) v = 0.5f;
  CHECK(std::isinf(data::calculate_niqe(flat, 0, model)));
  // Two whole 96x96 blocks after cropping are needed.
  std::mt19937_64 rng(11);
  test::require_error([&] { data::calculate_niqe(test::random_image(rng, 191, 191, 3), 0, model); },
                      {"two whole 96x96 blocks", "191x191"});
  CHECK(std::isfinite(data::calculate_niqe(test::random_image(rng, 192, 96, 3), 0, model)));
  test::require_error([&] { data::calculate_niqe(test::random_image(rng, 192, 96, 3), 1, model); },
                      {"190x94", "crop_border 1"});
  test::require_error([&] { data::check_niqe_size(100, 100, 50); }, {"leaves nothing", "100x100"});
  // Model files: each broken array is named.
  auto save = [&](const std::string& name, const std::map<std::string, data::NpyArray>& arrays) {
    data::write_npz(tmp.file(name), arrays);
    return tmp.file(name);
  };
  const data::NpyArray mu{{36}, model.mu}, cov{{36, 36}, model.cov}, win{{7, 7}, model.window};
  CHECK(data::load_niqe_model(save("good.npz", {{"mu_pris_param", mu}, {"cov_pris_param", cov},
                                                {"gaussian_window", win}})).mu == model.mu);
  test::require_error([&] { data::load_niqe_model(save("a.npz", {{"mu_pris_param", mu}, {"gaussian_window", win}})); },
                      {tmp.file("a.npz"), "'cov_pris_param'", "niqe_pris_params.npz"});
  data::NpyArray short_mu{{35}, std::vector<double>(model.mu.begin(), model.mu.begin() + 35)};
  test::require_error([&] { data::load_niqe_model(save("b.npz", {{"mu_pris_param", short_mu}, {"cov_pris_param", cov},
                                                                 {"gaussian_window", win}})); },
                      {tmp.file("b.npz"), "'mu_pris_param'", "36 values"});
  data::NpyArray skew = cov;
  skew.values[1] += 1;
  test::require_error([&] { data::load_niqe_model(save("c.npz", {{"mu_pris_param", mu}, {"cov_pris_param", skew},
                                                                 {"gaussian_window", win}})); },
                      {tmp.file("c.npz"), "not symmetric"});
  data::NpyArray heavy = win;
  heavy.values[24] += 0.5;
  test::require_error([&] { data::load_niqe_model(save("d.npz", {{"mu_pris_param", mu}, {"cov_pris_param", cov},
                                                                 {"gaussian_window", heavy}})); },
                      {tmp.file("d.npz"), "sums to"});
  data::NpyArray even{{2, 2}, {0.25, 0.25, 0.25, 0.25}};
  test::require_error([&] { data::load_niqe_model(save("e.npz", {{"mu_pris_param", mu}, {"cov_pris_param", cov},
                                                                 {"gaussian_window", even}})); },
                      {tmp.file("e.npz"), "odd side"});
  data::NpyArray nan_mu = mu;
  nan_mu.values[5] = NAN;
  test::require_error([&] { data::load_niqe_model(save("f.npz", {{"mu_pris_param", nan_mu}, {"cov_pris_param", cov},
                                                                 {"gaussian_window", win}})); },
                      {tmp.file("f.npz"), "not a finite number"});
  data::NpyArray huge_mu = mu;
  huge_mu.values[0] = 1e150;
  test::require_error([&] { data::load_niqe_model(save("h.npz", {{"mu_pris_param", huge_mu}, {"cov_pris_param", cov},
                                                                 {"gaussian_window", win}})); },
                      {tmp.file("h.npz"), "beyond 1e100"});
  data::NpyArray negative{{36, 36}, std::vector<double>(36 * 36, 0.0)};
  for (int i = 0; i < 36; ++i) negative.values[i * 37] = i == 7 ? -1.0 : 1.0;
  test::require_error([&] { data::load_niqe_model(save("g.npz", {{"mu_pris_param", mu}, {"cov_pris_param", negative},
                                                                 {"gaussian_window", win}})); },
                      {tmp.file("g.npz"), "not a covariance", "-1"});
  // A gray image and the same gray as RGB differ (Y of (v, v, v) is 16 + 219 v / 255).
  data::Image gray(192, 96, 1, 8), rgb(192, 96, 3, 8);
  const data::Image src = test::random_image(rng, 192, 96, 1);
  for (int y = 0; y < 96; ++y)
    for (int x = 0; x < 192; ++x) {
      gray.at(y, x, 0) = src.at(y, x, 0);
      for (int c = 0; c < 3; ++c) rgb.at(y, x, c) = src.at(y, x, 0);
    }
  CHECK(data::calculate_niqe(gray, 0, model) != data::calculate_niqe(rgb, 0, model));
  // Too few blocks to fit a 36x36 covariance.
  data::NiqeModelFitter few;
  few.add(test::random_image(rng, 288, 192, 3));
  test::require_error([&] { few.fit(); }, {"usable 96x96 blocks", "37"});
}

TEST_CASE("cli/metrics_niqe_and_niqe_fit") {
  test::TempDir tmp;
  const std::string exe = test::srengine_exe();
  const std::string model = tmp.file("model.npz");
  REQUIRE(niqe_run(exe + " niqe-fit --input " + photos("train_photos") + " --output " + model, tmp.file("fit.log")) ==
          0);
  const data::NiqeModel m = data::load_niqe_model(model);
  CHECK(m.mu == fit_photos(photos("train_photos")).mu);
  // NIQE alone (no --gt), as JSON: the library's numbers.
  REQUIRE(niqe_run(exe + " metrics --sr " + photos("val_photos") + " --niqe " + model + " --crop-border 4 --json " +
                       tmp.file("niqe.json"), tmp.file("niqe.log")) == 0);
  const nlohmann::json j = nlohmann::json::parse(test::read_text(tmp.file("niqe.json")));
  const std::vector<std::string> files = folder_images(photos("val_photos"));
  REQUIRE(j["images"].size() == files.size());
  double sum = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const double v = data::calculate_niqe(data::read_image(files[i]), 4, m);
    CHECK(j["images"][i]["niqe"].get<double>() == v);
    CHECK(!j["images"][i].contains("psnr"));
    sum += v;
  }
  CHECK(j["mean_niqe"].get<double>() == Approx(sum / files.size()).epsilon(1e-12));
  // With --gt: PSNR/SSIM and the SR images' NIQE.
  REQUIRE(niqe_run(exe + " metrics --gt " + photos("val_photos") + " --sr " + photos("val_photos") + " --niqe " + model +
                       " --json " + tmp.file("both.json"), tmp.file("both.log")) == 0);
  const nlohmann::json b = nlohmann::json::parse(test::read_text(tmp.file("both.json")));
  CHECK(b["mean_psnr"] == "inf");
  CHECK(b["images"][0]["niqe"].get<double>() == data::calculate_niqe(data::read_image(files[0]), 0, m));
  // Refusals name what is wrong; a folder's too-small images are all listed before any is measured.
  const std::string small = tmp.subdir("small");
  std::mt19937_64 rng(3);
  data::write_image(small + "/a.png", test::random_image(rng, 100, 100, 3));
  data::write_image(small + "/b.png", test::random_image(rng, 300, 90, 3));
  data::write_image(small + "/c.png", test::random_image(rng, 300, 300, 3));
  CHECK(niqe_run(exe + " metrics --sr " + small + " --niqe " + model, tmp.file("small.log")) != 0);
  const std::string log = test::read_text(tmp.file("small.log"));
  CHECK(log.find("2 problems") != std::string::npos);
  CHECK(log.find(small + "/a.png") != std::string::npos);
  CHECK(log.find(small + "/b.png") != std::string::npos);
  CHECK(niqe_run(exe + " metrics --sr " + small + " --niqe " + model + " --y-channel", tmp.file("y.log")) != 0);
  CHECK(test::read_text(tmp.file("y.log")).find("NIQE always measures Y") != std::string::npos);
  CHECK(niqe_run(exe + " metrics --sr " + small, tmp.file("none.log")) != 0);
  CHECK(test::read_text(tmp.file("none.log")).find("--niqe") != std::string::npos);
  CHECK(niqe_run(exe + " niqe-fit --input " + small + " --output " + tmp.file("few.npz"), tmp.file("few.log")) != 0);
  CHECK(test::read_text(tmp.file("few.log")).find("usable 96x96 blocks") != std::string::npos);
  CHECK(!fs::exists(tmp.file("few.npz")));
  CHECK(niqe_run(exe + " niqe-fit --input " + small + " --output " + tmp.file("x.npz") + " --sharpness 1",
                 tmp.file("sharp.log")) != 0);
  CHECK(test::read_text(tmp.file("sharp.log")).find("--sharpness") != std::string::npos);
  CHECK(niqe_run(exe + " niqe-fit --input " + small + " --output " + small + "/c.png", tmp.file("png.log")) != 0);
  CHECK(test::read_text(tmp.file("png.log")).find("must end in .npz") != std::string::npos);
  CHECK(data::read_image(small + "/c.png").width == 300);
}
